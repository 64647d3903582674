/** An in-process daemon in a temp folder of its own, for suites that need no more than a config and an address. */
import type { NewDeviceOptions } from '../../src/credentials/admin.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { tempDir, testConfig } from './env.js';

export interface TestDaemon {
  daemon: Daemon;
  /** Its data folder (Unix sockets named in the config live here). */
  dir: string;
  /** Stops the daemon, then removes its folder. */
  stop(): Promise<void>;
}

/** Starts a daemon on `testConfig(dir, overrides)` in a fresh temp folder named after `prefix`; a failed start removes the folder. */
export async function startTestDaemon(overrides: Record<string, unknown> = {}, prefix?: string): Promise<TestDaemon> {
  const { dir, cleanup } = tempDir(prefix);
  let daemon: Daemon;
  try {
    daemon = await startDaemon(testConfig(dir, overrides));
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    daemon,
    dir,
    stop: async () => {
      await daemon.stop();
      cleanup();
    },
  };
}

/** Adds `address` and one device of it (as the administrator "test"); resolves with the device's password. */
export async function addAddressWithDevice(daemon: Daemon, address: string, device: NewDeviceOptions): Promise<string> {
  await daemon.admin.addAddress(address, 'test');
  return (await daemon.admin.addDevice(address, device, 'test')).password;
}
