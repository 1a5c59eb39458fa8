#include "transport/block_pool.hpp"

#include <sys/mman.h>

#include <mutex>
#include <stdexcept>

// Under AddressSanitizer a freed block is poisoned (but for the free list's link), so a use after
// free of a pooled object is still caught, as it would be with malloc.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define RWS_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define RWS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define RWS_POISON(p, n) ((void)(p), (void)(n))
#define RWS_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace rws {

// At the start of each slab; the blocks follow it. A block is handed out from `free_blocks` (freed
// ones) first, then from the untouched rest at `fresh`: a slab's pages become resident only as its
// blocks are used.
struct block_pool::slab {
  slab* prev = nullptr;
  slab* next = nullptr;
  void* free_blocks = nullptr;  // each free block holds the pointer to the next
  std::uint32_t fresh = 0;      // blocks never handed out start at this index
  std::uint32_t used = 0;
};

namespace {

constexpr std::size_t header_size =
    (sizeof(void*) * 3 + sizeof(std::uint32_t) * 2 + block_pool::block_alignment - 1) / block_pool::block_alignment *
    block_pool::block_alignment;

std::size_t rounded(std::size_t size) {
  if (size == 0 || size > block_pool::slab_size / 4) throw std::invalid_argument("block_pool: block size out of range");
  return (size + block_pool::block_alignment - 1) / block_pool::block_alignment * block_pool::block_alignment;
}

}  // namespace

block_pool::block_pool(std::size_t block_size)
    : block_size_(rounded(block_size)),
      blocks_per_slab_(static_cast<std::uint32_t>((slab_size - header_size) / block_size_)) {
  static_assert(sizeof(slab) <= header_size);
}

block_pool::~block_pool() {
  while (with_room_) {
    slab* s = with_room_;
    unlink(s);
    unmap_slab(s);
  }
}

void* block_pool::allocate() {
  std::lock_guard<small_mutex> lock(mutex_);
  slab* s = with_room_ ? with_room_ : map_slab();
  if (s == empty_) empty_ = nullptr;
  void* block;
  if (s->free_blocks) {
    block = s->free_blocks;
    s->free_blocks = *static_cast<void**>(block);
  } else {
    block = reinterpret_cast<char*>(s) + header_size + std::size_t{s->fresh} * block_size_;
    ++s->fresh;
  }
  RWS_UNPOISON(block, block_size_);
  if (++s->used == blocks_per_slab_) unlink(s);
  ++in_use_;
  return block;
}

void block_pool::deallocate(void* block) noexcept {
  if (!block) return;
  auto* s = reinterpret_cast<slab*>(reinterpret_cast<std::uintptr_t>(block) & ~(std::uintptr_t{slab_size} - 1));
  std::lock_guard<small_mutex> lock(mutex_);
  *static_cast<void**>(block) = s->free_blocks;
  s->free_blocks = block;
  RWS_POISON(static_cast<char*>(block) + sizeof(void*), block_size_ - sizeof(void*));
  if (s->used-- == blocks_per_slab_) link(s);  // it was full: it has room again
  --in_use_;
  if (s->used > 0) return;
  if (!empty_) {
    empty_ = s;
    return;
  }
  unlink(s);
  unmap_slab(s);
}

std::size_t block_pool::slab_count() const {
  std::lock_guard<small_mutex> lock(mutex_);
  return slabs_;
}

std::size_t block_pool::blocks_in_use() const {
  std::lock_guard<small_mutex> lock(mutex_);
  return in_use_;
}

// mmap aligns to a page only: map twice the size and unmap what lies outside the aligned slab.
block_pool::slab* block_pool::map_slab() {
  void* raw = ::mmap(nullptr, 2 * slab_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto start = reinterpret_cast<std::uintptr_t>(raw);
  std::uintptr_t aligned = (start + slab_size - 1) & ~(std::uintptr_t{slab_size} - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  std::uintptr_t end = start + 2 * slab_size;
  if (end > aligned + slab_size) ::munmap(reinterpret_cast<void*>(aligned + slab_size), end - (aligned + slab_size));
  auto* s = new (reinterpret_cast<void*>(aligned)) slab();
  link(s);
  ++slabs_;
  return s;
}

void block_pool::unmap_slab(slab* s) noexcept {
  s->~slab();
  RWS_UNPOISON(s, slab_size);  // the address range may be mapped again, by anyone
  ::munmap(s, slab_size);
  --slabs_;
}

void block_pool::link(slab* s) noexcept {
  s->prev = nullptr;
  s->next = with_room_;
  if (with_room_) with_room_->prev = s;
  with_room_ = s;
}

void block_pool::unlink(slab* s) noexcept {
  if (s->prev) s->prev->next = s->next;
  if (s->next) s->next->prev = s->prev;
  if (with_room_ == s) with_room_ = s->next;
  s->prev = s->next = nullptr;
}

}  // namespace rws
