// A non-owning reference to something callable, for parameters called
// before the function returns. Unlike std::function it never allocates: the
// scheduler passes a lambda per component call, and a capture list larger
// than std::function's small buffer cost a malloc and a free on every one.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace torvyn {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
public:
    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
             std::is_invocable_r_v<R, F&, Args...>)
        // NOLINTNEXTLINE(google-explicit-constructor): used like a function parameter
        FunctionRef(F&& f)
    noexcept
        : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_([](void* o, Args... args) -> R {
              return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
          }) {}

    R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

private:
    void* object_;
    R (*call_)(void*, Args...);
};

}  // namespace torvyn
