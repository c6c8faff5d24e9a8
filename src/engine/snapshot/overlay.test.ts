import { runSnapshotterSuite } from "./snapshotter.case.ts";
import { OverlaySnapshotter } from "./overlay.ts";

runSnapshotterSuite("overlay", (dir) => new OverlaySnapshotter(dir));
