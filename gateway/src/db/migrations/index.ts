import { CreateUsersAndApiKeys1764000000000 } from './1764000000000-CreateUsersAndApiKeys';
import { UsernamesAndRoles1767400000000 } from './1767400000000-UsernamesAndRoles';

export const migrations = [CreateUsersAndApiKeys1764000000000, UsernamesAndRoles1767400000000];
