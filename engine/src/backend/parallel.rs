//! Element-wise loops of the CPU backend on every core natively (one thread in the browser, where WebAssembly
//! runs on the page's thread). Large matrix products get their threads from `matrixmultiply` instead.

/// Below this many elements a loop runs on the calling thread: starting a thread costs more than it saves.
const MIN_PER_THREAD: usize = 32 * 1024;

/// How many threads a loop over `len` elements uses.
fn threads_for(len: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    let cores = 1;
    #[cfg(not(target_arch = "wasm32"))]
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (len / MIN_PER_THREAD).clamp(1, cores)
}

/// Splits three equally long output slices into one contiguous chunk per thread and calls
/// `work(start, a, b, c)` on each chunk, where `start` is the chunk's first index: in parallel natively.
pub fn for_chunks3(a: &mut [f32], b: &mut [f32], c: &mut [f32], work: impl Fn(usize, &mut [f32], &mut [f32], &mut [f32]) + Sync) {
    assert!(a.len() == b.len() && b.len() == c.len(), "the three outputs must be equally long");
    let threads = threads_for(a.len());
    if threads == 1 {
        work(0, a, b, c);
        return;
    }
    let chunk = a.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let chunks = a.chunks_mut(chunk).zip(b.chunks_mut(chunk)).zip(c.chunks_mut(chunk));
        for (i, ((a, b), c)) in chunks.enumerate() {
            let work = &work;
            scope.spawn(move || work(i * chunk, a, b, c));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_is_visited_once_with_its_own_position() {
        let n = 3 * MIN_PER_THREAD + 5;
        let (mut a, mut b, mut c) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for_chunks3(&mut a, &mut b, &mut c, |start, a, b, c| {
            for i in 0..a.len() {
                a[i] += (start + i) as f32;
                b[i] += 1.0;
                c[i] = a[i] * 2.0;
            }
        });
        assert!(a.iter().enumerate().all(|(i, &v)| v == i as f32));
        assert!(b.iter().all(|&v| v == 1.0));
        assert!(c.iter().enumerate().all(|(i, &v)| v == 2.0 * i as f32));
    }
}
