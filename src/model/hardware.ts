import { hardwareFromOs, type Hardware } from "../core/profiles.js";
import { llamaRuntime } from "./llama.js";
import { withNativeLock } from "./native-lock.js";

/**
 * The machine as node-llama-cpp sees it: GPU backend (CUDA, Vulkan, Metal or none), device names
 * and VRAM, on top of the CPU cores and RAM the OS reports. Loads the llama runtime, so it costs
 * a second or so; without a usable runtime the CPU facts stand alone.
 */
export async function detectHardware(): Promise<Hardware> {
  const hardware = hardwareFromOs();
  try {
    const llama = await llamaRuntime("auto");
    if (llama.gpu === false) return { ...hardware, gpuProbed: true };
    const gpu = llama.gpu;
    // The addon's device queries read process-wide state: one thread at a time (native-lock.ts).
    return await withNativeLock(async () => {
      const vram = await llama.getVramState();
      return { ...hardware, gpu, gpuNames: await llama.getGpuDeviceNames(), vramTotalBytes: vram.total, vramFreeBytes: vram.free, gpuProbed: true };
    });
  } catch {
    return hardware;
  }
}
