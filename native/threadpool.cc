// Persistent workers that spin briefly after a job (kernels come in bursts: a layer's forward is a few calls
// in a row) and then sleep on a condition variable, so an idle process costs no CPU.
#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpuRelax() { _mm_pause(); }
#else
static inline void cpuRelax() {}
#endif

namespace ck {
namespace {

// Polling before a worker sleeps: 4096 pauses are about 125 microseconds on Zen 3, longer than the
// JavaScript between two kernels of a layer, short enough not to tax a machine shared with other work.
constexpr int kSpinRounds = 1 << 12;

class Pool {
 public:
  explicit Pool(int n) { start(n); }

  int size() const { return size_; }

  void resize(int n) {
    std::lock_guard<std::mutex> busy(busy_);
    stop();
    start(n);
  }

  // Returns false (and does nothing) when another thread is using the pool.
  bool tryRun(int nt, TaskFn fn, void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      fn_ = fn;
      ctx_ = ctx;
      nt_ = nt;
      pending_.store(size_ - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    inParallel = true;
    fn(ctx, 0, nt);
    inParallel = false;
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < kSpinRounds) cpuRelax();
      else std::this_thread::yield();
    }
    return true;
  }

  static thread_local bool inParallel;

 private:
  void start(int n) {
    size_ = n < 1 ? 1 : n;
    quit_ = false;
    // The generation a worker starts from is read here, not in the new thread: a job published before the
    // thread first runs would otherwise look already seen, and the caller would wait for it forever.
    const unsigned long gen0 = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < size_; ++i) workers_.emplace_back([this, i, gen0] { loop(i, gen0); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      quit_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void loop(int tid, unsigned long seen) {
    inParallel = true;
    for (;;) {
      int spins = 0;
      while (generation_.load(std::memory_order_acquire) == seen && spins < kSpinRounds) {
        cpuRelax();
        ++spins;
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(mutex_);
        wake_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      seen = generation_.load(std::memory_order_acquire);
      TaskFn fn;
      void* ctx;
      int nt;
      {
        std::lock_guard<std::mutex> lk(mutex_);
        if (quit_) return;
        fn = fn_;
        ctx = ctx_;
        nt = nt_;
      }
      if (tid < nt) fn(ctx, tid, nt);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex busy_;   // one job at a time
  std::mutex mutex_;  // guards the job fields and the sleep
  std::condition_variable wake_;
  std::atomic<unsigned long> generation_{0};
  std::atomic<int> pending_{0};
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int nt_ = 1;
  bool quit_ = false;
};

thread_local bool Pool::inParallel = false;

int defaultThreads() {
  const char* env = std::getenv("CONVKIT_THREADS");
  if (env && *env) {
    int n = std::atoi(env);
    if (n >= 1) return n > 256 ? 256 : n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Never destroyed: joining workers from a static destructor at process exit is needless work, and a
// std::thread destroyed unjoined would terminate the process.
Pool& pool() {
  static Pool* p = new Pool(defaultThreads());
  return *p;
}

}  // namespace

int threadCount() { return pool().size(); }

void setThreadCount(int n) { pool().resize(n); }

void runParallel(int nt, TaskFn fn, void* ctx) {
  Pool& p = pool();
  if (nt > p.size()) nt = p.size();
  if (nt <= 1 || Pool::inParallel || !p.tryRun(nt, fn, ctx)) fn(ctx, 0, 1);
}

}  // namespace ck
