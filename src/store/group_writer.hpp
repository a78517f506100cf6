// Group commit: one writer thread runs the write jobs of concurrent requests together in one LMDB
// write transaction per environment (the catalog, a partition), so that many requests share one
// commit (one fsync) instead of queueing for one each.
#pragma once

#include "store/lmdb.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace audex::store {

class group_writer {
  public:
    // A job changes the store inside the transaction it is given; it may run more than once (when
    // the map must grow), so it must have no other side effects. An exception it throws undoes its
    // own changes and is handed to its completion; it does not fail the other jobs of the group,
    // except lmdb_error and store_full, which fail the whole group.
    using job = std::function<void(transaction&)>;
    // Called on the writer thread once the job's group has committed (nullptr) or with the job's
    // failure.
    using completion = std::function<void(std::exception_ptr)>;

    // Jobs write `env` unless they name another environment.
    explicit group_writer(environment& env, std::size_t max_group = 256);
    ~group_writer();
    group_writer(const group_writer&) = delete;
    group_writer& operator=(const group_writer&) = delete;

    // Queues a job that writes `target` (the writer's own environment when null). Jobs of one
    // environment commit in the order they came.
    void submit(job j, completion done, environment* target = nullptr);

    // Groups committed so far; for tests and metrics.
    std::size_t commits() const;

  private:
    struct pending {
        job run;
        completion done;
        environment* target;
    };
    // Runs a group of jobs that write one environment in one transaction.
    void commit(std::vector<pending*>& group, environment& target);
    void loop();

    environment& env_;
    std::size_t max_group_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<pending> queue_;
    std::size_t commits_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace audex::store
