/* malloc_sizes: the sizes a program asks libc's malloc for, as a log2
 * histogram (sizes[k]: calls for 2^k to 2^(k+1)-1 bytes; sizes[0] also
 * counts malloc(0)), and how many calls returned NULL. The README's
 * example of waggle trace:
 *
 *   waggle trace --dump-maps testdata/uprobe/malloc_sizes.o -- ls /
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

/* calls[0]: calls, calls[1]: returns, calls[2]: NULL returns */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

static __always_inline void count(void *map, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);
	if (!v) {
		__u64 zero = 0;
		bpf_map_update_elem(map, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(map, &key);
		if (!v)
			return;
	}
	__sync_fetch_and_add(v, 1);
}

SEC("uprobe/libc.so.6:malloc")
int BPF_KPROBE(malloc_enter, __u64 size)
{
	__u32 k = 0;
	for (int i = 32; i > 0; i >>= 1)
		if (size >> i) {
			size >>= i;
			k += i;
		}
	count(&sizes, k);
	count(&calls, 0);
	return 0;
}

SEC("uretprobe/libc.so.6:malloc")
int BPF_KRETPROBE(malloc_return, void *ptr)
{
	count(&calls, 1);
	if (!ptr)
		count(&calls, 2);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
