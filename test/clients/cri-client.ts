/**
 * A small CRI v1 client for the tests: the calls kubelet makes to run a pod, over
 * containerd's gRPC socket, with the project's own cri-api.proto (the subset the test
 * uses, with the upstream field numbers). Debian packages no crictl; this stands in.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO = join(import.meta.dir, "cri-api.proto");

export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  log_directory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: { cgroup_parent?: string; security_context?: { namespace_options?: NamespaceOption; readonly_rootfs?: boolean } };
}

export interface LinuxContainerResources {
  cpu_period?: string;
  cpu_quota?: string;
  cpu_shares?: string;
  memory_limit_in_bytes?: string;
  cpuset_cpus?: string;
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: { key: string; value: string }[];
  labels?: Record<string, string>;
  log_path?: string;
  linux?: { resources?: LinuxContainerResources; security_context?: { namespace_options?: NamespaceOption } };
}

export type ContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

export interface ContainerStatus {
  id: string;
  state: ContainerState;
  exit_code: number;
  reason: string;
  message: string;
  log_path: string;
}

/** A value of the UInt64Value wrapper; longs arrive as decimal strings. */
type U64 = { value: string } | null;

export interface ContainerStats {
  attributes: { id: string };
  cpu: { timestamp: string; usage_core_nano_seconds: U64 } | null;
  memory: { timestamp: string; working_set_bytes: U64; usage_bytes: U64; rss_bytes: U64 } | null;
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type Method = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => void;

/**
 * The CRI RuntimeService and ImageService of one endpoint. Every call has a deadline (a
 * hung daemon fails the test instead of hanging it) and rejects with "Method: details".
 */
export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly images: grpc.Client;

  constructor(socket: string) {
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true });
    const v1 = (grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: Record<string, grpc.ServiceClientConstructor> } }).runtime.v1;
    this.runtime = new v1.RuntimeService!(`unix://${socket}`, grpc.credentials.createInsecure());
    this.images = new v1.ImageService!(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }

  private call<T>(client: grpc.Client, method: string, req: unknown, timeoutMs = 60_000): Promise<T> {
    const fn = (client as unknown as Record<string, Method>)[method];
    if (!fn) throw new Error(`no CRI method ${method} in cri-api.proto`);
    return new Promise((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new Error(`${method}: ${err.details || err.message}`));
        else resolve(res as T);
      });
    });
  }

  version() {
    return this.call<{ runtime_name: string; runtime_version: string; runtime_api_version: string }>(this.runtime, "Version", { version: "v1" });
  }

  status() {
    return this.call<{ status: { conditions: { type: string; status: boolean; reason: string; message: string }[] } }>(this.runtime, "Status", {});
  }

  pullImage(image: string) {
    return this.call<{ image_ref: string }>(this.images, "PullImage", { image: { image } }, 120_000);
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
    return (await this.call<{ pod_sandbox_id: string }>(this.runtime, "RunPodSandbox", { config, runtime_handler: runtimeHandler }, 120_000)).pod_sandbox_id;
  }

  /** With verbose, info.info is containerd's JSON about the sandbox (its pid, runtime options, spec). */
  podSandboxStatus(id: string, verbose = false) {
    return this.call<{
      status: { id: string; state: "SANDBOX_READY" | "SANDBOX_NOTREADY"; network: { ip: string } | null; runtime_handler: string };
      info: Record<string, string>;
    }>(this.runtime, "PodSandboxStatus", { pod_sandbox_id: id, verbose });
  }

  async listPodSandbox(): Promise<{ id: string; state: string; runtime_handler: string; labels: Record<string, string> }[]> {
    return (await this.call<{ items: { id: string; state: string; runtime_handler: string; labels: Record<string, string> }[] }>(this.runtime, "ListPodSandbox", {})).items;
  }

  stopPodSandbox(id: string) {
    return this.call<object>(this.runtime, "StopPodSandbox", { pod_sandbox_id: id }, 120_000);
  }

  removePodSandbox(id: string) {
    return this.call<object>(this.runtime, "RemovePodSandbox", { pod_sandbox_id: id }, 120_000);
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return (await this.call<{ container_id: string }>(this.runtime, "CreateContainer", { pod_sandbox_id: podSandboxId, config, sandbox_config: sandboxConfig })).container_id;
  }

  startContainer(id: string) {
    return this.call<object>(this.runtime, "StartContainer", { container_id: id });
  }

  /** timeout: seconds the runtime waits for the stop signal before SIGKILL. */
  stopContainer(id: string, timeout: number) {
    return this.call<object>(this.runtime, "StopContainer", { container_id: id, timeout }, 120_000);
  }

  removeContainer(id: string) {
    return this.call<object>(this.runtime, "RemoveContainer", { container_id: id });
  }

  async listContainers(podSandboxId = ""): Promise<{ id: string; pod_sandbox_id: string; state: ContainerState }[]> {
    return (await this.call<{ containers: { id: string; pod_sandbox_id: string; state: ContainerState }[] }>(this.runtime, "ListContainers", { filter: { pod_sandbox_id: podSandboxId } })).containers;
  }

  /** With verbose, info.info is containerd's JSON about the container (its pid among it). */
  containerStatus(id: string, verbose = false) {
    return this.call<{ status: ContainerStatus; info: Record<string, string> }>(this.runtime, "ContainerStatus", { container_id: id, verbose });
  }

  updateContainerResources(id: string, linux: LinuxContainerResources) {
    return this.call<object>(this.runtime, "UpdateContainerResources", { container_id: id, linux });
  }

  /** timeout: seconds (0 = none); stdout and stderr come back as bytes. */
  async execSync(id: string, cmd: string[], timeout = 30): Promise<{ stdout: string; stderr: string; exit_code: number }> {
    const r = await this.call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>(this.runtime, "ExecSync", { container_id: id, cmd, timeout }, (timeout + 30) * 1000);
    return { stdout: Buffer.from(r.stdout).toString(), stderr: Buffer.from(r.stderr).toString(), exit_code: r.exit_code };
  }

  async containerStats(id: string): Promise<ContainerStats> {
    return (await this.call<{ stats: ContainerStats }>(this.runtime, "ContainerStats", { container_id: id })).stats;
  }
}
