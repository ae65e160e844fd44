// Threads that wait for each other without losing time to the wait. A training run holds one
// team of threads for its whole length (one OpenMP region), and the data-parallel step, the
// optimiser's update and the test pass hand it jobs; between jobs, at the step's barrier and at
// batch norm's cross-slice sums the threads wait by one policy:
// - on a quiet machine they spin (a sleeping thread takes ~0.1 ms to wake on a VM, more than a
//   small step's whole imbalance), for up to kSpinLimit before they sleep;
// - while another process competes for the cores they spin only briefly (kContendedSpinLimit)
//   before they sleep: a long spin burns the time slice its partner needs, and a sleeping
//   thread lets the kernel move its partner to the core it leaves. Contention is read from the time
//   the team's threads waited for a core (run-queue wait, looked up when they had involuntary
//   context switches), by ContentionGauge.
// - while contended, a job whose results do not depend on how many threads run it (Split::Free)
//   runs on the calling thread alone: a partner that shares its core with another process is
//   taken off it for whole time slices, longer than a step. The run queue (/proc/loadavg) says
//   when the other process has gone, and the jobs spread out again.
// A job's results never depend on the policy: they stay the same bits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <vector>

namespace tinycnn::runtime {

// Spinning longer than this without the awaited change, a waiter sleeps.
inline constexpr std::chrono::microseconds kSpinLimit{2000};
// The same while the machine is contended: long enough that a partner arriving soon (the next
// job of a step, a batch-norm barrier) finds the waiter awake, since waking a sleeper whose core
// another process runs costs ~0.12 ms even when that process is at nice 19
// (bench/team_wakeup.sh); short enough to take little of a time slice the partner needs.
inline constexpr std::chrono::microseconds kContendedSpinLimit{50};

// Decides from a stream of observations (was any thread of a job preempted?) whether the
// machine is contended: on after a few preempted jobs among the recent ones, off again only
// once they have stopped for a while, so one stray interrupt does not flip it.
class ContentionGauge {
 public:
  void observe(bool preempted);
  void clear() { score_ = 0.0, contended_ = false; }
  bool contended() const { return contended_; }

 private:
  double score_ = 0.0;  // exponential average of `preempted`, recent jobs weigh most
  bool contended_ = false;
};

// The process-wide policy every waiter below follows.
bool machine_contended();
// Feeds one job's observation to the process's gauge (Team::run does, after each job).
void observe_contention(bool preempted);
// Back to quiet (the other process has gone).
void clear_contention();
// Involuntary context switches of the calling thread so far.
int64_t involuntary_switches();
// Nanoseconds the calling thread has spent runnable but waiting for a core, so far
// (/proc/thread-self/schedstat); -1 where the kernel does not say.
int64_t runqueue_wait_ns();
// Runnable tasks on the machine besides the calling thread (/proc/loadavg); 0 if unreadable.
int runnable_others();
// Nanoseconds all of this process's threads have spent runnable but waiting for a core, so far
// (/proc/self/task/*/schedstat; threads that have ended are not counted); -1 where the kernel
// does not say.
int64_t process_runqueue_wait_ns();
// The machine's one-minute load average (/proc/loadavg); 0 if unreadable.
double load_average();

// Returns once `word` no longer holds `old`: spinning or sleeping as the policy says.
void wait_while_equal(const std::atomic<uint32_t>& word, uint32_t old);
// After changing `word`: wakes the threads sleeping in wait_while_equal on it.
void wake_all(std::atomic<uint32_t>& word);

// A reusable barrier for `count` threads that waits by the policy above.
class Barrier {
 public:
  explicit Barrier(int count = 1) : count_(count) {}
  void reset(int count) { count_ = count; }
  void arrive_and_wait();

 private:
  int count_;
  std::atomic<int> arrived_{0};
  std::atomic<uint32_t> generation_{0};
};

// One thread's place in a job: thread `thread` of `size`; sync() waits for the job's others.
struct Crew {
  int thread = 0;
  int size = 1;
  Barrier* barrier = nullptr;
  void sync() const {
    if (barrier) barrier->arrive_and_wait();
  }
};
using Job = std::function<void(const Crew&)>;

// Fixed: the job needs all the threads it asks for at once (its results depend on the split,
// or its threads meet). Free: it gives the same results on any number of threads.
enum class Split { Fixed, Free };

class Team {
 public:
  // Runs `body` on the calling thread with `threads` threads standing by for its jobs
  // (Team::current() inside). With one thread, inside another team or inside an OpenMP region,
  // `body` runs alone. Exceptions from `body` come out of hold().
  static void hold(int threads, const std::function<void()>& body);
  // The team the calling thread holds, outside any of its jobs; otherwise null.
  static Team* current();

  int size() const { return size_; }
  // Threads 0..min(threads, size)-1 run job (the caller is thread 0); returns when all have.
  // The first exception a thread threw is rethrown here.
  // A Free job may run on the caller alone while the machine is contended.
  void run(const Job& job, int threads, Split split = Split::Fixed);

 private:
  explicit Team(int threads);
  void serve(int thread);  // a standing-by thread's loop
  void run_part(const Job& job, int thread, int threads);

  int size_;
  Barrier barrier_;
  const Job* job_ = nullptr;
  int active_ = 0;
  bool stop_ = false;
  std::atomic<uint32_t> started_{0};   // bumped to hand out a job (or to stop)
  std::atomic<uint32_t> finished_{0};  // bumped when the last thread is done with it
  std::atomic<int> pending_{0};
  std::atomic<bool> preempted_{false};
  int64_t narrow_jobs_ = 0;  // Free jobs run alone since the run queue was last read
  // Per thread, what its last job's end saw: involuntary switches, and runqueue_wait_ns() when
  // they last changed and when that was (steady clock, ns).
  struct Seen {
    int64_t switches = 0, waited = 0, waited_at = 0;
  };
  std::vector<Seen> seen_;
  std::vector<std::exception_ptr> errors_;
};

// Runs job on `threads` threads: the held team's when the caller holds one, else one OpenMP
// region; inside a job or an OpenMP region already, job({0, 1}) on the calling thread.
void parallel(int threads, const Job& job, Split split = Split::Fixed);

}  // namespace tinycnn::runtime
