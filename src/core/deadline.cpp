// This thread's request deadline (see deadline.hpp).
#include "core/deadline.hpp"

namespace audex {

void detail::throw_deadline_exceeded() {
    throw deadline_exceeded("the request ran past its deadline");
}

deadline_scope::deadline_scope(deadline_clock::time_point at) : previous_(detail::thread_deadline) {
    if (deadline_clock::now() > at) detail::throw_deadline_exceeded();
    detail::thread_deadline = at;
}

deadline_scope::~deadline_scope() {
    detail::thread_deadline = previous_;
}

}  // namespace audex
