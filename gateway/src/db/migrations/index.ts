import { CreateUsersAndApiKeys1764000000000 } from './1764000000000-CreateUsersAndApiKeys';

export const migrations = [CreateUsersAndApiKeys1764000000000];
