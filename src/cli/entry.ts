/**
 * The entry point bin/berth-runtime runs (bundled by scripts/build-runtime.sh). Kept
 * apart from berth-runtime.ts because a split bundle moves shared code into chunks,
 * where `import.meta.main` is never true.
 */
import { main } from "./berth-runtime.ts";

process.exit(await main(process.argv.slice(2)));
