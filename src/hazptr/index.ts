/** The hazptr versions a scenario can choose with `hazptr: <name>`. */
import type { HazptrVersion } from './version.ts';
import { v5 } from './v5/hazptr.ts';

export const versions: Record<string, HazptrVersion> = { v5 };
export const versionNames = Object.keys(versions);
