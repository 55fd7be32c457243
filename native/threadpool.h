// A small persistent thread pool. Kernels are written as f(tid, nt): thread `tid` of `nt` does a part of the
// work that is a pure function of (tid, nt), so a result never depends on scheduling.
#pragma once

namespace ck {

using TaskFn = void (*)(void* ctx, int tid, int nt);

// Number of threads a parallel call may use: CONVKIT_THREADS, else std::thread::hardware_concurrency().
int threadCount();
// Restarts the pool with `n` threads (n >= 1). Used by tests to compare thread counts.
void setThreadCount(int n);

// Runs fn(ctx, tid, nt) for tid in [0, nt) and returns when all are done; the caller is thread 0.
// nt is clamped to threadCount(). A nested call, or a call from a second JavaScript thread while the pool is
// busy, runs inline with nt = 1 (every kernel is correct for any nt).
void runParallel(int nt, TaskFn fn, void* ctx);

template <class F>
inline void parallel(int nt, F&& f) {
  runParallel(nt, [](void* c, int tid, int n) { (*static_cast<F*>(c))(tid, n); }, &f);
}

// Threads worth using for `work` units when one thread should get at least `grain` units.
inline int threadsFor(long work, long grain) {
  long t = work / (grain > 0 ? grain : 1);
  int max = threadCount();
  return t < 1 ? 1 : (t > max ? max : static_cast<int>(t));
}

}  // namespace ck
