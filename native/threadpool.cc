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
  //
  // The parts of a job are claimed, not assigned: the caller runs part 0, then claims whatever parts no
  // worker has claimed yet, and waits only for parts a worker is running. A part's result is a function of
  // (tid, nt) alone (threadpool.h), so who runs it changes no bit. On a shared VM a worker's virtual CPU is
  // now and then descheduled for milliseconds; the caller no longer waits for one that had not started.
  bool tryRun(int nt, TaskFn fn, void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    unsigned long gen;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      fn_ = fn;
      ctx_ = ctx;
      nt_ = nt;
      gen = generation_.load(std::memory_order_relaxed) + 1;
      done_.store(0, std::memory_order_relaxed);
      ticket_.store(ticketOf(gen, 1), std::memory_order_relaxed);
      generation_.store(gen, std::memory_order_release);
    }
    wake_.notify_all();
    inParallel = true;
    fn(ctx, 0, nt);
    int mine = 0;
    for (int t; (t = claim(gen, nt)) >= 0; ++mine) fn(ctx, t, nt);
    inParallel = false;
    for (int spins = 0; done_.load(std::memory_order_acquire) != nt - 1 - mine; ++spins) {
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
    for (int i = 1; i < size_; ++i) workers_.emplace_back([this, gen0] { loop(gen0); });
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

  void loop(unsigned long seen) {
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
      TaskFn fn;
      void* ctx;
      int nt;
      {
        std::lock_guard<std::mutex> lk(mutex_);
        if (quit_) return;
        seen = generation_.load(std::memory_order_acquire);
        fn = fn_;
        ctx = ctx_;
        nt = nt_;
      }
      // fn and ctx are only touched after a claim of this very job succeeds; its caller then waits for the part.
      for (int t; (t = claim(seen, nt)) >= 0;) {
        fn(ctx, t, nt);
        done_.fetch_add(1, std::memory_order_acq_rel);
      }
    }
  }

  // The job's next unclaimed part, tagged with its generation so that a worker that read an older job's fields
  // can never claim a part of a newer one: the part number, or -1 when none is left (or the job is over).
  static unsigned long long ticketOf(unsigned long gen, int part) {
    return (static_cast<unsigned long long>(gen & 0xffffffffUL) << 32) | static_cast<unsigned>(part);
  }
  int claim(unsigned long gen, int nt) {
    unsigned long long t = ticket_.load(std::memory_order_acquire);
    for (;;) {
      if ((t >> 32) != (gen & 0xffffffffUL) || static_cast<int>(t & 0xffffffffU) >= nt) return -1;
      if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        return static_cast<int>(t & 0xffffffffU);
    }
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex busy_;   // one job at a time
  std::mutex mutex_;  // guards the job fields and the sleep
  std::condition_variable wake_;
  std::atomic<unsigned long> generation_{0};
  std::atomic<unsigned long long> ticket_{0};  // (generation, next unclaimed part)
  std::atomic<int> done_{0};                   // parts that workers finished, this job
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
