import { createReadStream } from 'node:fs';

/**
 * A file's bytes in 1 MiB chunks, opened on the first read. A body handed to a consumer that
 * fails before reading it (a refused upload, a download that never starts) holds no file
 * descriptor for the garbage collector to close; one abandoned mid-way is closed by the
 * iterator's return.
 */
export async function* fileChunks(path: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  yield* createReadStream(path, { highWaterMark: 1 << 20, ...(signal === undefined ? {} : { signal }) }) as AsyncIterable<Uint8Array>;
}
