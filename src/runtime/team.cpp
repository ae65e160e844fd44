// A held team of threads and the waiting policy; see team.hpp.
#include "runtime/team.hpp"

#include <fcntl.h>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>

namespace tinycnn::runtime {

namespace {
// The gauge's thresholds on its average: about two preempted jobs in a row turn it on; a dozen
// clean ones turn it off.
constexpr double kWeight = 0.2, kOn = 0.35, kOff = 0.02;
// While contended, the run queue is read every this many Free jobs run alone.
constexpr int64_t kReadRunQueueEvery = 8;
// A job was preempted when a thread of it waited for a core this share of the time since its
// wait was last read: involuntary switches alone happen on a quiet machine too (kernel threads,
// a few dozen a second, microseconds each), and a 200 ms ResNet step saw some in every step.
constexpr double kPreemptedShare = 0.25;

std::mutex gauge_mutex;
ContentionGauge gauge;
std::atomic<bool> contended{false};

thread_local Team* held = nullptr;  // the team this thread holds, outside its jobs
thread_local bool in_job = false;   // inside a job of a team or of parallel()'s region

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void run_inline(const Job& job) {
  const bool outer = in_job;
  in_job = true;
  try {
    job(Crew{});
  } catch (...) {
    in_job = outer;
    throw;
  }
  in_job = outer;
}

// Runs one thread's part of a job as `crew`, its exception (if any) kept in `error`.
void run_as(const Job& job, const Crew& crew, std::exception_ptr& error) {
  in_job = true;
  try {
    job(crew);
  } catch (...) {
    error = std::current_exception();
  }
  in_job = false;
}

void rethrow_first(const std::vector<std::exception_ptr>& errors) {
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}
}  // namespace

void ContentionGauge::observe(bool preempted) {
  score_ = (1.0 - kWeight) * score_ + kWeight * (preempted ? 1.0 : 0.0);
  if (score_ > kOn) contended_ = true;
  if (score_ < kOff) contended_ = false;
}

bool machine_contended() { return contended.load(std::memory_order_relaxed); }

void observe_contention(bool preempted) {
  const std::lock_guard lock(gauge_mutex);
  gauge.observe(preempted);
  contended.store(gauge.contended(), std::memory_order_relaxed);
}

void clear_contention() {
  const std::lock_guard lock(gauge_mutex);
  gauge.clear();
  contended.store(false, std::memory_order_relaxed);
}

int runnable_others() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return 0;
  double avg[3];
  int running = 0, total = 0;
  const int got = std::fscanf(f, "%lf %lf %lf %d/%d", &avg[0], &avg[1], &avg[2], &running, &total);
  std::fclose(f);
  return got == 5 ? std::max(running - 1, 0) : 0;
}

double load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return 0;
  double one = 0;
  const int got = std::fscanf(f, "%lf", &one);
  std::fclose(f);
  return got == 1 ? one : 0;
}

int64_t process_runqueue_wait_ns() {
  std::error_code ec;
  int64_t total = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::FILE* f = std::fopen((task.path() / "schedstat").c_str(), "r");
    if (!f) continue;
    unsigned long long running = 0, waiting = 0;
    if (std::fscanf(f, "%llu %llu", &running, &waiting) == 2) {
      total += static_cast<int64_t>(waiting);
      any = true;
    }
    std::fclose(f);
  }
  return any ? total : -1;
}

int64_t involuntary_switches() {
  rusage usage{};
  if (getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
  return usage.ru_nivcsw;
}

int64_t runqueue_wait_ns() {
  // schedstat: time on the cpu, time waiting on a run queue (ns), time slices.
  thread_local const int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[96];
  const ssize_t got = pread(fd, text, sizeof text - 1, 0);
  if (got <= 0) return -1;
  text[got] = '\0';
  unsigned long long running = 0, waiting = 0;
  if (std::sscanf(text, "%llu %llu", &running, &waiting) != 2) return -1;
  return static_cast<int64_t>(waiting);
}

void wait_while_equal(const std::atomic<uint32_t>& word, uint32_t old) {
  if (word.load(std::memory_order_acquire) != old) return;
  const auto limit = machine_contended() ? kContendedSpinLimit : kSpinLimit;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  do {
    for (int i = 0; i < 64; ++i) {
      cpu_relax();
      if (word.load(std::memory_order_acquire) != old) return;
    }
  } while (std::chrono::steady_clock::now() < deadline);
  while (word.load(std::memory_order_acquire) == old) word.wait(old, std::memory_order_acquire);
}

void wake_all(std::atomic<uint32_t>& word) { word.notify_all(); }

void Barrier::arrive_and_wait() {
  const uint32_t generation = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    wake_all(generation_);
  } else {
    wait_while_equal(generation_, generation);
  }
}

Team::Team(int threads) : size_(threads), barrier_(threads) {}

Team* Team::current() { return in_job ? nullptr : held; }

void Team::hold(int threads, const std::function<void()>& body) {
  if (threads <= 1 || held || in_job || omp_in_parallel()) {
    body();
    return;
  }
  Team team(threads);
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
#pragma omp single
    {
      team.size_ = omp_get_num_threads();
      team.seen_.assign(static_cast<size_t>(team.size_), {});
      team.errors_.assign(static_cast<size_t>(team.size_), nullptr);
    }
    const int t = omp_get_thread_num();
    team.seen_[static_cast<size_t>(t)] = {
        .switches = involuntary_switches(), .waited = runqueue_wait_ns(), .waited_at = steady_ns()};
#pragma omp barrier
    if (t == 0) {
      held = &team;
      try {
        body();
      } catch (...) {
        error = std::current_exception();
      }
      held = nullptr;
      team.stop_ = true;
      team.started_.fetch_add(1, std::memory_order_release);
      wake_all(team.started_);
    } else {
      team.serve(t);
    }
  }
  if (error) std::rethrow_exception(error);
}

void Team::run_part(const Job& job, int thread, int threads) {
  run_as(job, Crew{.thread = thread, .size = threads, .barrier = threads > 1 ? &barrier_ : nullptr},
         errors_[static_cast<size_t>(thread)]);
  Seen& seen = seen_[static_cast<size_t>(thread)];
  const int64_t switches = involuntary_switches();
  if (switches != seen.switches) {
    // The time the thread waited for a core since it was last read, against the time since
    // then (schedstat is read only when switches happened: a quiet machine rarely pays for it).
    // Without schedstat, any switch counts.
    const int64_t waited = runqueue_wait_ns(), now = steady_ns();
    if (waited < 0 || seen.waited < 0 ||
        static_cast<double>(waited - seen.waited) >
            kPreemptedShare * static_cast<double>(now - seen.waited_at)) {
      preempted_.store(true, std::memory_order_relaxed);
    }
    seen.waited = waited;
    seen.waited_at = now;
  }
  seen.switches = switches;
}

void Team::serve(int thread) {
  // Each bump of started_ is one job (the holder waits for a job's end before the next).
  for (uint32_t seen = 0;; ++seen) {
    wait_while_equal(started_, seen);
    if (stop_) return;
    if (thread < active_) run_part(*job_, thread, active_);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      finished_.fetch_add(1, std::memory_order_release);
      wake_all(finished_);
    }
  }
}

void Team::run(const Job& job, int threads, Split split) {
  const int active = std::clamp(threads, 1, size_);
  if (size_ == 1 || active == 1) {
    run_inline(job);
    return;
  }
  if (split == Split::Free && machine_contended()) {
    if (++narrow_jobs_ % kReadRunQueueEvery != 0 || runnable_others() > 0) {
      run_inline(job);
      return;
    }
    clear_contention();  // nobody else wants a core: spread out again
  }
  job_ = &job;
  active_ = active;
  barrier_.reset(active);
  std::fill(errors_.begin(), errors_.end(), nullptr);
  preempted_.store(false, std::memory_order_relaxed);
  pending_.store(size_ - 1, std::memory_order_relaxed);
  const uint32_t done = finished_.load(std::memory_order_relaxed);
  started_.fetch_add(1, std::memory_order_release);
  wake_all(started_);
  run_part(job, 0, active);
  wait_while_equal(finished_, done);
  observe_contention(preempted_.load(std::memory_order_relaxed));
  rethrow_first(errors_);
}

void parallel(int threads, const Job& job, Split split) {
  if (held && !in_job) {
    held->run(job, threads, split);
  } else if (in_job || threads <= 1 || omp_in_parallel()) {
    run_inline(job);
  } else {
    Barrier barrier;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
      barrier.reset(nt);
      run_as(job, Crew{.thread = t, .size = nt, .barrier = nt > 1 ? &barrier : nullptr},
             errors[static_cast<size_t>(t)]);
    }
    rethrow_first(errors);
  }
}

}  // namespace tinycnn::runtime
