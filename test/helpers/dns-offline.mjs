/*
 * A preload (`node --import test/helpers/dns-offline.mjs`) for a machine
 * without a network: every name lookup fails with ENOTFOUND, as getaddrinfo
 * does offline, except localhost. Nothing is sent anywhere.
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';

const original = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  if (hostname === 'localhost') return original.call(this, hostname, options, callback);
  const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
  process.nextTick(() => done(error));
  return {};
};
dns.promises.lookup = async (hostname) => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
};
syncBuiltinESMExports();
