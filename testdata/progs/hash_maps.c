/* hash_maps: hash and per-CPU hash map operations driven by the context.
 *
 * Program types: syscall (the context is raw memory that the run copies
 * back to the caller).
 * Maps: hmap (HASH, 4 entries, u32 -> u64), phmap (PERCPU_HASH, 4 entries,
 *       u32 -> u64).
 * Helpers: map_lookup_elem, map_update_elem, map_delete_elem.
 *
 * Input: a struct hash_ops context (8 + 16 * 32 = 520 bytes) with n, the
 * number of operations (at most 16).  Each op has a command (1 update with
 * flags, 2 lookup, 3 delete, 4 add value to an existing entry through the
 * looked-up pointer; OR 0x10 to use phmap instead of hmap), a key, a value
 * and flags.  The program writes each op's result (0 or a negative errno)
 * into ret and, for a lookup, the value found into value; count receives
 * the number of ops run.  Returns 0.
 */
#include "common.h"

#define MAX_OPS 16

struct op {
	__u32 cmd;
	__u32 key;
	__u64 value;
	__u64 flags;
	__s64 ret;
};

struct hash_ops {
	__u32 n;
	__u32 count;
	struct op ops[MAX_OPS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} phmap SEC(".maps");

NOINLINE __s64 do_op(struct op *op)
{
	__u32 key = op->key;
	__u64 value = op->value;
	void *map = (op->cmd & 0x10) ? (void *)&phmap : (void *)&hmap;
	__u64 *v;

	switch (op->cmd & 0xf) {
	case 1:
		return bpf_map_update_elem(map, &key, &value, op->flags);
	case 2:
		v = bpf_map_lookup_elem(map, &key);
		if (!v)
			return -2; /* ENOENT */
		op->value = *v;
		return 0;
	case 3:
		return bpf_map_delete_elem(map, &key);
	case 4:
		v = bpf_map_lookup_elem(map, &key);
		if (!v)
			return -2;
		*v += value;
		return 0;
	}
	return -22; /* EINVAL */
}

/* The verifier allows only constant offsets from the context pointer, so
 * each op is copied to the stack with constant offsets, and back. */
#define RUN_OP(i)                                    \
	if (i < n) {                                 \
		struct op o = ctx->ops[i];           \
		ctx->ops[i].ret = do_op(&o);         \
		ctx->ops[i].value = o.value;         \
		count = i + 1;                       \
	}

SEC("syscall")
int hash_ops(struct hash_ops *ctx)
{
	__u32 n = ctx->n;
	__u32 count = 0;

	RUN_OP(0) RUN_OP(1) RUN_OP(2) RUN_OP(3)
	RUN_OP(4) RUN_OP(5) RUN_OP(6) RUN_OP(7)
	RUN_OP(8) RUN_OP(9) RUN_OP(10) RUN_OP(11)
	RUN_OP(12) RUN_OP(13) RUN_OP(14) RUN_OP(15)
	ctx->count = count;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
