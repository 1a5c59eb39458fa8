#pragma once
// An allocator for the operation an idle connection keeps pending (its wait for readability),
// so that Asio allocates it at its own size. With the default allocator Asio takes the block
// from its per-thread recycling cache, which holds whatever operation finished last on the io
// thread: after a ping, the write's larger block (~190 bytes where the wait needs ~100), kept for
// as long as the connection is idle. One malloc per wait instead; waits are one per read.
#include <boost/asio/bind_allocator.hpp>

#include <cstddef>
#include <new>
#include <utility>

namespace rws {

template <class T>
struct exact_allocator {
  using value_type = T;
  exact_allocator() noexcept = default;
  template <class U>
  exact_allocator(const exact_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }
  template <class U>
  bool operator==(const exact_allocator<U>&) const noexcept {
    return true;
  }
};

// The handler of a wait that may stay pending for a long time (see above).
template <class Handler>
auto exactly_allocated(Handler&& handler) {
  return boost::asio::bind_allocator(exact_allocator<void>{}, std::forward<Handler>(handler));
}

}  // namespace rws
