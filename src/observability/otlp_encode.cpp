// OTLP trace requests in the protobuf wire format, written with protobuf's
// own wire-format primitives (libprotobuf): the messages are few and flat,
// so Torvyn writes their fields by number instead of generating classes
// from .proto files it would have to carry. Field numbers are those of
// opentelemetry/proto (trace/v1, common/v1, resource/v1, collector/trace/v1).
#include <unistd.h>

#include <array>
#include <cstdlib>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include "torvyn/observability/otlp.hpp"
#include "torvyn/version.hpp"

namespace torvyn {
namespace {

using google::protobuf::internal::WireFormatLite;

// One message's fields, appended in order; a nested message is written
// whole into its parent (length-delimited).
class Message {
public:
    void text(int field, std::string_view value) {
        auto& out = stream();
        WireFormatLite::WriteTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &out);
        out.WriteVarint32(static_cast<std::uint32_t>(value.size()));
        out.WriteRaw(value.data(), static_cast<int>(value.size()));
    }
    void message(int field, Message& child) { text(field, child.bytes()); }
    void varint(int field, std::uint64_t value) {
        WireFormatLite::WriteUInt64(field, value, &stream());
    }
    void signed64(int field, std::int64_t value) {
        WireFormatLite::WriteInt64(field, value, &stream());
    }
    void fixed64(int field, std::uint64_t value) {
        WireFormatLite::WriteFixed64(field, value, &stream());
    }
    void fixed32(int field, std::uint32_t value) {
        WireFormatLite::WriteFixed32(field, value, &stream());
    }
    const std::string& bytes() {
        coded_.reset();
        raw_.reset();
        return buffer_;
    }

private:
    google::protobuf::io::CodedOutputStream& stream() {
        if (!coded_) {
            raw_ = std::make_unique<google::protobuf::io::StringOutputStream>(&buffer_);
            coded_ = std::make_unique<google::protobuf::io::CodedOutputStream>(raw_.get());
        }
        return *coded_;
    }
    std::string buffer_;
    std::unique_ptr<google::protobuf::io::StringOutputStream> raw_;
    std::unique_ptr<google::protobuf::io::CodedOutputStream> coded_;
};

// common.v1.KeyValue { key = 1; AnyValue value = 2 }
void attribute(Message& parent, int field, std::string_view key, Message& value) {
    Message kv;
    kv.text(1, key);
    kv.message(2, value);
    parent.message(field, kv);
}

// AnyValue { string_value = 1; int_value = 3 }
void text_attribute(Message& parent, int field, std::string_view key, std::string_view value) {
    Message any;
    any.text(1, value);
    attribute(parent, field, key, any);
}

void int_attribute(Message& parent, int field, std::string_view key, std::int64_t value) {
    Message any;
    any.signed64(3, value);
    attribute(parent, field, key, any);
}

std::string big_endian(std::uint64_t hi, std::uint64_t lo, bool both) {
    std::string out;
    const auto put = [&](std::uint64_t v) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((v >> static_cast<unsigned>(shift)) & 0xffU));
        }
    };
    if (both) {
        put(hi);
    }
    put(lo);
    return out;
}

// trace.v1.Span
void encode_span(Message& scope_spans, const SpanRecord& s) {
    enum : int {
        kTraceId = 1,
        kSpanId = 2,
        kParentSpanId = 4,
        kName = 5,
        kKind = 6,
        kStart = 7,
        kEnd = 8,
        kAttributes = 9,
        kStatus = 15,
        kFlags = 16,
    };
    constexpr std::uint64_t kSpanKindInternal = 1;
    constexpr std::uint64_t kStatusError = 2;
    // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK (0x100): the parent is known
    // to be local (not remote), plus the W3C flags (sampled).
    constexpr std::uint32_t kHasIsRemote = 0x100;
    Message span;
    span.text(kTraceId, big_endian(s.trace.trace_hi, s.trace.trace_lo, true));
    span.text(kSpanId, big_endian(0, s.span, false));
    if (s.trace.parent != 0) {
        span.text(kParentSpanId, big_endian(0, s.trace.parent, false));
    }
    span.text(kName, s.name);
    span.varint(kKind, kSpanKindInternal);
    span.fixed64(kStart, s.start_unix_ns);
    span.fixed64(kEnd, s.end_unix_ns);
    for (const auto& [key, value] : s.text) {
        text_attribute(span, kAttributes, key, value);
    }
    for (const auto& [key, value] : s.numbers) {
        int_attribute(span, kAttributes, key, value);
    }
    if (s.failed) {
        Message status;
        status.varint(3, kStatusError);  // Status { message = 2; code = 3 }
        span.message(kStatus, status);
    }
    span.fixed32(kFlags, kHasIsRemote | 1U);
    scope_spans.message(2, span);  // ScopeSpans { scope = 1; spans = 2 }
}

}  // namespace

OtlpResource OtlpResource::of_this_process() {
    OtlpResource r;
    const char* service = std::getenv("OTEL_SERVICE_NAME");
    r.attributes.emplace_back("service.name",
                              service != nullptr && *service != '\0' ? service : "torvyn");
    r.attributes.emplace_back("service.version", std::string(kVersion));
    r.attributes.emplace_back("telemetry.sdk.name", "torvyn");
    r.attributes.emplace_back("telemetry.sdk.language", "cpp");
    r.attributes.emplace_back("telemetry.sdk.version", std::string(kVersion));
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) == 0) {
        r.attributes.emplace_back("host.name", host.data());
    }
    r.attributes.emplace_back("process.pid", std::to_string(getpid()));
    return r;
}

std::string encode_otlp_traces(const OtlpResource& resource, const std::vector<SpanRecord>& spans) {
    Message res;  // resource.v1.Resource { attributes = 1 }
    for (const auto& [key, value] : resource.attributes) {
        if (key == "process.pid") {
            int_attribute(res, 1, key, std::strtoll(value.c_str(), nullptr, 10));
        } else {
            text_attribute(res, 1, key, value);
        }
    }
    Message scope;  // common.v1.InstrumentationScope { name = 1; version = 2 }
    scope.text(1, "torvyn");
    scope.text(2, kVersion);
    Message scope_spans;
    scope_spans.message(1, scope);
    for (const auto& s : spans) {
        encode_span(scope_spans, s);
    }
    Message resource_spans;  // ResourceSpans { resource = 1; scope_spans = 2 }
    resource_spans.message(1, res);
    resource_spans.message(2, scope_spans);
    Message request;  // ExportTraceServiceRequest { resource_spans = 1 }
    request.message(1, resource_spans);
    return request.bytes();
}

}  // namespace torvyn
