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

/// Splits `N` equally long output slices into one contiguous chunk per thread and calls `work(start, chunks)` on
/// each, where `start` is the chunks' first index: in parallel natively. Each element is written by exactly one
/// call, so the result does not depend on the number of threads as long as `work` computes element `start + i`
/// from its index alone.
pub fn for_chunks<const N: usize>(outputs: [&mut [f32]; N], work: impl Fn(usize, [&mut [f32]; N]) + Sync) {
    let len = outputs.first().map_or(0, |o| o.len());
    assert!(outputs.iter().all(|o| o.len() == len), "the outputs must be equally long");
    let threads = threads_for(len);
    if threads == 1 {
        work(0, outputs);
        return;
    }
    let chunk = len.div_ceil(threads);
    let mut rest = outputs;
    std::thread::scope(|scope| {
        let mut start = 0;
        while start < len {
            let take = chunk.min(len - start);
            let head = rest.each_mut().map(|r| {
                let (head, tail) = std::mem::take(r).split_at_mut(take);
                *r = tail;
                head
            });
            let work = &work;
            scope.spawn(move || work(start, head));
            start += take;
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
        for_chunks([&mut a, &mut b, &mut c], |start, [a, b, c]| {
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
