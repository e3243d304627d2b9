"""How vmap batches each primitive (`Rule.batch`, read by modes/batch.py). An elementwise rule needs no
entry; a pure primitive with none runs once per example (`_bt.loop`), which is correct and slow."""
from .table import batching

batching("reduce", "np.sum", "np.mean", "np.prod", "np.max", "np.amax", "np.min", "np.amin", "np.var", "np.std",
         "np.median")
batching("reduce", "scipy.special.logsumexp")
batching("reduce", "np.any", "np.all", "np.count_nonzero", sig="a, axis=None, keepdims=False")
batching("scan", "np.cumsum", "np.cumprod")
batching("scan", "np.sort", "np.flip", "np.diff")
batching("arg", "np.argmax", "np.argmin", sig="a, axis=None")
batching("arg", "np.argsort", sig="a, axis=-1")
batching("like", "np.zeros_like", "np.ones_like", "np.empty_like", sig="a, dtype=None")
batching("like", "np.full_like", "np.copy")
batching("matmul", "matmul", "np.matmul")
batching("dot", "np.dot")
batching("outer", "np.outer")
batching("flat", "np.ravel")
batching("transpose", "np.transpose")
batching("reshape", "np.reshape")
batching("join", "np.concatenate", "np.stack")
for _name in ("isnan", "isinf", "isfinite", "greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
              "logical_and", "logical_or", "logical_not", "logical_xor", "sign", "floor", "ceil", "rint", "trunc",
              "fix", "floor_divide", "heaviside"):
    batching("elementwise", f"np.{_name}")
batching("runtime", "_rt.zeros", "_rt.unbroadcast", "_rt.sum_product", "_rt.mean_scale", "_rt.full", "_rt.tangent_like",
         "_rt.owned", "_rt.matmul_grad_x", "_rt.matmul_grad_y", "_rt.sum_grad", "_rt.mean_grad")
batching("parts", "_rt.concatenate_grad", "_rt.stack_grad", "_rt.hstack_grad", "_rt.vstack_grad", "np.split",
         "np.array_split", "np.hsplit", "np.vsplit", "np.linalg.eigh", "np.linalg.svd", "np.linalg.qr", "np.linalg.slogdet")
