/**
 * The dashboard is a static web app served by the gateway from dashboard/public; it has no server of its own.
 * Its pages land with their own issue.
 */
export const publicDir = `${__dirname}/../public`;
