import type { SurfaceFactory } from '../surfaces.js';

// Placeholder while this front is being built: it serves nothing, so the daemon skips it.
export const imapSurface: SurfaceFactory = () => null;
