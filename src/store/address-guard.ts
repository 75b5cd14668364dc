import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.js';

/*
 * Which addresses a pull asked for over HTTP may connect to: public ones
 * only. A daemon fetching what a client names must not become a way into
 * the machine's own services or its network (SSRF): loopback, private,
 * link-local, carrier-grade NAT, multicast and unspecified addresses are
 * refused, checked on the address each connection actually goes to (after
 * DNS, for every redirect hop), so a name that resolves inward is refused
 * too. node:net's BlockList does the matching.
 */

const inward = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 3]] as const) {
  inward.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) inward.addSubnet(net, prefix, 'ipv6');

/** True for an address a pull over HTTP may not reach. */
export const isInwardAddress = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return inward.check(mapped, 'ipv4');
  const family = isIP(address);
  return family === 0 ? true : inward.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

const refused = (host: string, address: string) =>
  // What the client asked for is refused (403), not a download that failed (502).
  new AppError('forbidden', `Refused to fetch from ${host}: it is a loopback, private or link-local address (${address}).`, {
    param: 'model',
    hint: 'Pulls asked for over HTTP reach public addresses only; list the host in MURMUR_PULL_HOSTS to allow it, or pull with the CLI on that machine.',
  });

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/tls connect that fails for inward addresses (both the single and the all-addresses forms Node uses). */
export const publicLookup = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isInwardAddress(a.address));
    if (bad) return callback(refused(hostname, bad.address) as NodeJS.ErrnoException, '');
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

/** Checks a host before connecting: an IP literal now (net skips lookup for those), a name through publicLookup later. */
export const checkLiteralHost = (host: string): void => {
  if (isIP(host) && isInwardAddress(host)) throw refused(host, host);
};
