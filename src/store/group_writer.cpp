// The group-committing writer (see group_writer.hpp).
#include "store/group_writer.hpp"

#include <algorithm>
#include <vector>

namespace audex::store {

group_writer::group_writer(environment& env, std::size_t max_group)
    : env_(env), max_group_(max_group), thread_([this] { loop(); }) {}

group_writer::~group_writer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void group_writer::submit(job j, completion done, environment* target) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back({std::move(j), std::move(done), target ? target : &env_});
    }
    wake_.notify_one();
}

std::size_t group_writer::commits() const {
    std::lock_guard lock(mutex_);
    return commits_;
}

void group_writer::loop() {
    std::vector<pending> group;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            // Jobs queued before a stop still run: their requests are waiting for an answer.
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;
            while (!queue_.empty() && group.size() < max_group_) {
                group.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        // By environment, each in the order its jobs came.
        std::vector<environment*> targets;
        for (auto& p : group)
            if (std::find(targets.begin(), targets.end(), p.target) == targets.end())
                targets.push_back(p.target);
        for (auto* target : targets) {
            std::vector<pending*> part;
            for (auto& p : group)
                if (p.target == target) part.push_back(&p);
            commit(part, *target);
        }
        group.clear();
    }
}

void group_writer::commit(std::vector<pending*>& group, environment& target) {
    std::vector<std::exception_ptr> failures(group.size());
    try {
        target.write([&](transaction& txn) {
            for (std::size_t i = 0; i < group.size(); ++i) {
                failures[i] = nullptr;
                try {
                    txn.nested(group[i]->run);
                } catch (const lmdb_error&) {
                    throw;
                } catch (const store_full&) {
                    throw;
                } catch (...) {
                    failures[i] = std::current_exception();
                }
            }
        });
        std::lock_guard lock(mutex_);
        ++commits_;
    } catch (...) {
        std::fill(failures.begin(), failures.end(), std::current_exception());
    }
    for (std::size_t i = 0; i < group.size(); ++i)
        group[i]->done(failures[i]);
}

}  // namespace audex::store
