/**
 * Where a container's monitor keeps its files in the container's run dir: what the monitor
 * is told (monitor.ts) and what the engine reads back (the exit file, the pid files) —
 * apart from the monitor's launch, so that reading a container's state loads none of it.
 * Pure.
 */

export interface MonitorFiles {
  runDir: string;
  /** the monitor writes `<exitDir>/<id>`: the run dir itself (a directory of its own cost a mkdir on every run's critical path) */
  exitDir: string;
  /** the container's pid (the runtime's --pid-file) */
  pidFile: string;
  /** the monitor's own pid */
  monitorPidFile: string;
  /** the runtime's JSON log, read for its errors */
  runtimeLog: string;
  /** the monitor's own stderr */
  monitorLog: string;
  /** the attach socket's name in runDir (the monitor's working directory) */
  attachSocket: string;
}

export function monitorFiles(runDir: string): MonitorFiles {
  return {
    runDir,
    exitDir: runDir,
    pidFile: `${runDir}/pidfile`,
    monitorPidFile: `${runDir}/monitor.pid`,
    runtimeLog: `${runDir}/runtime.log`,
    monitorLog: `${runDir}/monitor.log`,
    attachSocket: "attach",
  };
}
