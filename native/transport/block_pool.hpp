#pragma once
// Fixed-size blocks for what an open connection keeps for its whole life (its `connection` and
// its plain TCP transport), carved from 64 KiB slabs of their own instead of the io thread's
// malloc arena.
//
// Why: opening a connection allocates dozens of short-lived blocks on the io thread (the
// upgrade request and response, the resolver's results, the endpoint race) in between the
// long-lived ones, and opening runs many connections at once. Freed, those short-lived blocks
// leave holes the arena cannot give back, pinned between live blocks of other connections:
// with 5,000 idle connections, ~190 B per connection of the io thread's arena was free space
// that stayed resident (malloc_info; bench idle-5000). With the long-lived blocks elsewhere, the
// arena's short-lived ones free whole pages again, and a slab holds blocks of one size only, with
// no malloc header each.
//
// Thread-safe: a block may be freed on another thread than the one that took it (the last
// holder of a connection). A slab is returned to the system once its last block is freed, except
// one empty slab kept for the next connection (a socket reconnecting over and over must not map
// and unmap a slab per attempt).
#include <cstddef>
#include <cstdint>
#include <new>

#include "common/small_mutex.hpp"

namespace rws {

class block_pool {
 public:
  static constexpr std::size_t slab_size = 64 * 1024;  // also its alignment: a block finds its slab by masking
  static constexpr std::size_t block_alignment = 16;

  // `block_size`: rounded up to a multiple of block_alignment; at most a quarter of a slab.
  explicit block_pool(std::size_t block_size);
  ~block_pool();  // unmaps every slab: only for a pool whose blocks are all freed (tests)
  block_pool(const block_pool&) = delete;
  block_pool& operator=(const block_pool&) = delete;

  void* allocate();  // throws std::bad_alloc when no slab can be mapped
  void deallocate(void* block) noexcept;

  std::size_t block_size() const { return block_size_; }
  // Slabs mapped now, and blocks handed out and not freed. For tests.
  std::size_t slab_count() const;
  std::size_t blocks_in_use() const;

  // The process-wide pool for blocks of `Size` bytes. Never destroyed: a block may be freed
  // while the process exits, after static destructors ran. Shared by every Node environment
  // (worker threads) as malloc is.
  template <std::size_t Size>
  static block_pool& of_size() {
    static block_pool* pool = new block_pool(Size);
    return *pool;
  }
  // The pool whose blocks fit a T.
  template <class T>
  static block_pool& of_type() {
    static_assert(alignof(T) <= block_alignment, "block_pool blocks are 16-byte aligned");
    return of_size<(sizeof(T) + block_alignment - 1) / block_alignment * block_alignment>();
  }

 private:
  struct slab;
  slab* map_slab();
  void unmap_slab(slab* s) noexcept;
  void link(slab* s) noexcept;    // into the slabs with room
  void unlink(slab* s) noexcept;  // out of them

  const std::size_t block_size_;
  const std::uint32_t blocks_per_slab_;
  mutable small_mutex mutex_;
  slab* with_room_ = nullptr;  // slabs with a free block, doubly linked
  slab* empty_ = nullptr;      // the one empty slab kept mapped (also in with_room_), or null
  std::size_t slabs_ = 0;
  std::size_t in_use_ = 0;
};

// An allocator for std::allocate_shared that takes its one block (object and reference counts
// together) from the block_pool of that block's size. Any other request goes to operator new.
template <class T>
struct pooled_allocator {
  using value_type = T;
  pooled_allocator() noexcept = default;
  template <class U>
  pooled_allocator(const pooled_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(block_pool::of_type<T>().allocate());
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n != 1) {
      ::operator delete(p);
      return;
    }
    block_pool::of_type<T>().deallocate(p);
  }
  template <class U>
  bool operator==(const pooled_allocator<U>&) const noexcept {
    return true;
  }

};

}  // namespace rws
