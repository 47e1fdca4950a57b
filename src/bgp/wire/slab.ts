/**
 * Small output buffers carved from a shared slab (as Node's Buffer pool does). A typed array
 * with its own ArrayBuffer costs an allocation, external-memory accounting and sweeping by the
 * GC; a view into a slab costs only the view. A slab lives as long as any buffer cut from it.
 */
const SLAB_SIZE = 256 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

/** A zero-initialised-or-reused region of `total` bytes: callers write every byte they use. */
export function allocate(total: number): Uint8Array {
  if (total > SLAB_SIZE / 4) return new Uint8Array(total);
  if (slabUsed + total > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const b = new Uint8Array(slab, slabUsed, total);
  slabUsed += (total + 7) & ~7;
  return b;
}

/** A slab copy of src[0, n). */
export function copyOut(src: Uint8Array, n: number): Uint8Array {
  const b = allocate(n);
  b.set(n === src.length ? src : src.subarray(0, n));
  return b;
}
