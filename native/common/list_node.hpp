#pragma once
// The links of an intrusive circular list: an object in a list carries its own links, so joining
// or leaving it allocates nothing (one per idle socket adds up: bench idle-5000). A list's head is
// a node too, linked to itself when the list is empty. Not thread-safe.

namespace rws {

class list_node {
 public:
  list_node() = default;
  list_node(const list_node&) = delete;
  list_node& operator=(const list_node&) = delete;

  bool linked() const { return prev_ != nullptr; }
  // The next node (on a head: the first; the head itself after the last).
  list_node* next() const { return next_; }

  // --- on a head (list_head) ---
  bool empty() const { return next_ == this; }
  // Puts `n` last.
  void push_back(list_node& n) {
    n.prev_ = prev_;
    n.next_ = this;
    prev_->next_ = &n;
    prev_ = &n;
  }
  // Moves every node of `other` (a head) to the end of this list; `other` is left unlinked.
  void splice_back(list_node& other) {
    if (other.empty()) return;
    other.next_->prev_ = prev_;
    prev_->next_ = other.next_;
    other.prev_->next_ = this;
    prev_ = other.prev_;
    other.prev_ = other.next_ = nullptr;
  }

  // Leaves its list.
  void unlink() {
    prev_->next_ = next_;
    next_->prev_ = prev_;
    prev_ = next_ = nullptr;
  }

 protected:
  ~list_node() = default;

 private:
  friend struct list_head;
  list_node* prev_ = nullptr;  // null: not in any list
  list_node* next_ = nullptr;
};

// A list: its head, empty from the start.
struct list_head : list_node {
  list_head() { prev_ = next_ = this; }
};

}  // namespace rws
