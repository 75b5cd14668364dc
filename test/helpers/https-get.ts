import { request } from 'node:https';

/** GET over HTTPS, trusting only `ca` (a test's own self-signed certificate): the status and the body as text. */
export const httpsGet = (url: string, ca: string | Buffer) =>
  new Promise<{ status: number; body: string }>((done, fail) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => done({ status: res.statusCode!, body }));
    })
      .on('error', fail)
      .end();
  });
