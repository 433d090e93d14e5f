/* many_maps: eight arrays of one 64 MiB value each, 512 MiB in all.  Each
 * map is small enough on its own; together they must fit in the memory
 * limit of the collection's (and the process's) maps, and the first map
 * beyond it is refused with ENOMEM naming it, the bytes it needs and the
 * bytes left.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct chunk { __u8 b[64 << 20]; };

#define CHUNK(name)						\
	struct {						\
		__uint(type, BPF_MAP_TYPE_ARRAY);		\
		__uint(max_entries, 1);				\
		__type(key, __u32);				\
		__type(value, struct chunk);			\
	} name SEC(".maps")

CHUNK(chunk0); CHUNK(chunk1); CHUNK(chunk2); CHUNK(chunk3);
CHUNK(chunk4); CHUNK(chunk5); CHUNK(chunk6); CHUNK(chunk7);

static __always_inline int touch(void *map)
{
	__u32 key = 0;
	struct chunk *c = bpf_map_lookup_elem(map, &key);

	return c ? c->b[0] : 0;
}

SEC("xdp")
int xdp_many_maps(struct xdp_md *ctx)
{
	return (touch(&chunk0) + touch(&chunk1) + touch(&chunk2) + touch(&chunk3) +
		touch(&chunk4) + touch(&chunk5) + touch(&chunk6) + touch(&chunk7)) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
