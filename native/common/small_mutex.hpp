#pragma once
// A mutex in four bytes, for locks held per socket: std::mutex takes 40 on Linux, and 5,000
// idle sockets each keep one (bench idle-5000). Uncontended, lock() and unlock() are one atomic
// instruction each, as with std::mutex; a thread that finds it held sleeps in the kernel
// (std::atomic::wait, a futex on Linux) and is woken by unlock() only when someone waits.
//
// The three states of Drepper's "Futexes Are Tricky" (mutex 2): 0 free, 1 held, 2 held and
// maybe waited for. Not recursive; meets Lockable, so std::lock_guard works with it.
#include <atomic>
#include <cstdint>

namespace rws {

class small_mutex {
 public:
  small_mutex() = default;
  small_mutex(const small_mutex&) = delete;
  small_mutex& operator=(const small_mutex&) = delete;

  void lock() {
    std::uint32_t seen = free;
    if (state_.compare_exchange_strong(seen, held, std::memory_order_acquire, std::memory_order_relaxed)) return;
    // Contended: say so (2) before sleeping, so that the holder's unlock() wakes a sleeper.
    if (seen != contended) seen = state_.exchange(contended, std::memory_order_acquire);
    while (seen != free) {
      state_.wait(contended, std::memory_order_relaxed);
      seen = state_.exchange(contended, std::memory_order_acquire);
    }
  }
  bool try_lock() {
    std::uint32_t seen = free;
    return state_.compare_exchange_strong(seen, held, std::memory_order_acquire, std::memory_order_relaxed);
  }
  void unlock() {
    if (state_.exchange(free, std::memory_order_release) == contended) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t free = 0, held = 1, contended = 2;
  std::atomic<std::uint32_t> state_{free};
};

}  // namespace rws
