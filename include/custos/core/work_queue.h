// custos core: a fixed pool of worker threads draining one task queue.
//
// Used to move work off threads that must stay quick (the log's sequencer
// callbacks hand receipt work to a WorkQueue). Tasks run in FIFO order
// across `threads` workers. post() is thread-safe; the destructor runs every
// task already posted, then joins the workers.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace custos {

class WorkQueue {
 public:
  explicit WorkQueue(unsigned threads);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void post(std::function<void()> task);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace custos
