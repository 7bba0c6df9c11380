import net from "node:net";

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, for a process that must be told
 * its port before it starts (a throwaway Kafka broker, a store whose public address is fixed
 * up front). Another process could take it between this answer and its use: fine for tests
 * and benchmarks on one machine, not a way to allocate ports in production.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
