"""Containers in user code: tuples, lists and dicts whose structure is known when the function is
transformed, kept apart leaf by leaf.

`params["W1"]`, `a, b = helper(x)`, `return h, cache` in a helper, `for k, v in params.items()`,
`sum(np.sum(w ** 2) for w in params.values())`: a name bound to a container (a `Tree`) has one variable
per leaf, named for its path (`params_W1`, `pair_0`); a read with a constant key or index is that
variable, a loop over the container runs once per item (unrolled), and the container itself never exists
in the generated code, which the reverse and forward sweeps then differentiate as any other variables.

Python's containers are shared objects and these are values, so what would tell them apart is refused:
writing into a container that another name (or the caller) may hold. A use the compiler cannot follow
statically (an index known only at run time, `.append` inside a loop) turns the container back into an
ordinary value first, which the rest of the compiler handles (or refuses) as before.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnsupportedSyntaxError
from ..ir import pytree
from ..ir.core import set_origin

KEY_TYPES = (int, str, bool)


@dataclass(eq=False)
class Tree:
    """A container value: `items` are atoms (names, constants) or Trees, in order; `keys` the dict's keys
    (or a named tuple's fields), None for a tuple or list."""

    kind: Any                    # "tuple", "list", "dict", or a named tuple's class
    keys: tuple | None
    items: list
    owner: Any = None            # the Normalizer that built it from a literal (only it may write into it)
    shared: bool = field(default=False)   # another name holds the same object: writes are refused

    def structure(self) -> Any:
        """The structure (a pytree treedef) with every atom a leaf."""
        return (self.kind, self.keys, tuple(i.structure() if isinstance(i, Tree) else None for i in self.items))

    def index(self, key: Any) -> int | None:
        """The position of `key` (a constant), or None when the container has no such key."""
        if self.kind == "dict" or (self.keys is not None and isinstance(key, str)):
            return self.keys.index(key) if key in self.keys else None
        if type(key) is bool or not isinstance(key, int):
            return None
        n = len(self.items)
        return key % n if -n <= key < n else None

    def labels(self) -> list:
        """The key of each item: dict keys, field names, or positions."""
        return list(self.keys) if self.keys is not None else list(range(len(self.items)))

    def leaves(self) -> list[ast.expr]:
        return [x for i in self.items for x in (i.leaves() if isinstance(i, Tree) else [i])]

    def literal(self) -> ast.expr:
        """An expression that builds the container from its leaves (a tuple for a named tuple)."""
        parts = [i.literal() if isinstance(i, Tree) else _clone_atom(i) for i in self.items]
        if self.kind == "dict":
            return ast.Dict(keys=[ast.Constant(k) for k in self.keys], values=parts)
        if self.kind == "list":
            return ast.List(elts=parts, ctx=ast.Load())
        return ast.Tuple(elts=parts, ctx=ast.Load())

    def describe(self) -> str:
        if self.kind in ("tuple", "list", "dict"):
            return f"a {self.kind}"
        return f"a {self.kind.__name__}"


def _clone_atom(a: ast.expr) -> ast.expr:
    if isinstance(a, ast.Name):
        return ast.Name(id=a.id, ctx=ast.Load())
    return ast.Constant(a.value) if isinstance(a, ast.Constant) else a


def from_treedef(treedef: Any, base: str, fresh_name) -> Tree:
    """The Tree of a parameter whose argument has structure `treedef`: a variable per leaf, named by
    `fresh_name(pytree.leaf_name(base, path))`."""
    def build(td, path):
        if td is None:
            return ast.Name(id=fresh_name(pytree.leaf_name(base, path)), ctx=ast.Load())
        kind, keys, children = td
        labels = keys if keys is not None else range(len(children))
        return Tree(kind, keys, [build(c, path + (k,)) for k, c in zip(labels, children)])
    return build(treedef, ())


def constant_key(node: ast.expr) -> tuple[bool, Any]:
    """(True, value) when `node` is a constant usable as a key or index (`"W1"`, `0`, `-1`)."""
    if isinstance(node, ast.Constant) and type(node.value) in KEY_TYPES:
        return True, node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return True, -node.operand.value
    return False, None


def sliced(tree: Tree, s: ast.Slice) -> Tree | None:
    """tree[a:b:c] with constant bounds, for a tuple or list; None when a bound is not a constant."""
    if tree.kind not in ("tuple", "list"):
        return None
    bounds = []
    for part in (s.lower, s.upper, s.step):
        if part is None:
            bounds.append(None)
            continue
        ok, v = constant_key(part)
        if not ok or type(v) is not int:
            return None
        bounds.append(v)
    return Tree(tree.kind, None, tree.items[slice(*bounds)], owner=None)


def same_binding(a: Tree | None, b: Tree | None) -> bool:
    """Whether two bindings of a name are interchangeable: the same structure in the same variables."""
    if a is None or b is None:
        return a is b
    return a.structure() == b.structure() and _leaf_atoms(a) == _leaf_atoms(b)


# methods that change a list or dict in place
MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem", "sort",
            "reverse"}


def dynamic_uses(stmts: list[ast.stmt], names: set[str]) -> set[str]:
    """The names among `names` (containers) that `stmts` use in a way the compiler cannot follow
    statically: a mutating method, or an element read or written with an index that is not a constant."""
    out = set()
    for node in ast.walk(ast.Module(body=stmts, type_ignores=[])):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in names and node.func.attr in MUTATORS:
            out.add(node.func.value.id)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in names:
            ok, _ = constant_key(node.slice)
            if not ok and not isinstance(node.slice, ast.Slice):
                out.add(node.value.id)
    return out


def _dump(a: ast.expr) -> str:
    return a.id if isinstance(a, ast.Name) else ast.dump(a)


def _leaf_atoms(tree: Tree) -> list[str]:
    return [_dump(x) for x in tree.leaves()]


class Containers:
    """The Normalizer's handling of containers (mixed into it). `self.shared.trees` maps a core name to
    its Tree; `self.shared.plain` holds the names bound to ordinary values."""

    # --- what a name or expression holds ---------------------------------------------------------
    def tree_of_name(self, e: ast.expr) -> Tree | None:
        if isinstance(e, ast.Name) and e.id in self.resolver.locals:
            return self.shared.trees.get(self.local(e.id))
        return None

    def tree_value(self, e: ast.expr) -> Tree | None:
        """The container `e` denotes (a literal's items are evaluated), or None when it is not one."""
        if isinstance(e, ast.Name):
            return self.tree_of_name(e)
        if isinstance(e, (ast.Subscript, ast.Attribute)):
            item = self.tree_item(e)
            return item if isinstance(item, Tree) else None
        if isinstance(e, ast.Dict) or (isinstance(e, (ast.Tuple, ast.List)) and e.elts and not _constant_tuple(e)):
            return self.literal_tree(e)
        if isinstance(e, ast.ListComp):
            return Tree("list", None, self.comprehension(e), owner=self)
        return None

    def tree_item(self, e: ast.expr):
        """`c[key]` or `c.field` of a container c: the item (an atom or a Tree); None when `e` reads no
        container. A key that is not a constant refuses (or, on a name, first makes the container an
        ordinary value: None)."""
        base_e = e.value
        if isinstance(base_e, ast.Call) and self._is_user_call(base_e):
            # `helper(x)["energy"]`: the call computed once, into a name read as any other (a container's
            # items, or an array's elements)
            e.value = base_e = self.computed(base_e)
        if not isinstance(base_e, (ast.Name, ast.Subscript, ast.Attribute)):
            return None
        base = self.tree_value(base_e)
        if base is None:
            return None
        if isinstance(e, ast.Attribute):
            if base.keys is None or base.kind == "dict" or e.attr not in base.keys:
                return None          # a method (params.items) or no such field: the caller says
            return base.items[base.keys.index(e.attr)]
        if isinstance(e.slice, ast.Slice):
            part = sliced(base, e.slice)
            if part is None:
                raise self.error(UnsupportedSyntaxError, e, f"slicing {base.describe()} with bounds that are not "
                                 "constants: use constant bounds, or make it an array first (np.stack)")
            return part
        ok, key = constant_key(e.slice)
        if not ok:
            if isinstance(base_e, ast.Name):
                self.materialize(self.local(base_e.id))
                return None
            raise self.error(UnsupportedSyntaxError, e, f"indexing {base.describe()} with a value known only "
                             "when the code runs: use a constant index or key")
        i = base.index(key)
        if i is None:
            what = "key" if base.kind == "dict" else "index"
            raise self.error(UnsupportedSyntaxError, e, f"{base.describe()} with no {what} {key!r}"
                             f" (its {what}s: {', '.join(map(repr, base.labels()))})")
        return base.items[i]

    def item_atom(self, e: ast.expr) -> ast.expr | None:
        """The variable of `c[key]` or `c.field` (a fresh node: passes rename nodes in place), None when `e`
        reads no container's item; refused when `e` is a container itself, used as one value."""
        item = self.tree_of_name(e) if isinstance(e, ast.Name) else self.tree_item(e)
        if isinstance(item, Tree):
            raise self.error(UnsupportedSyntaxError, e, f"{ast.unparse(e)} is {item.describe()}, used here as a "
                             "single value: read its items (with constant keys or indices), or pass it to "
                             "np.stack / np.array")
        return None if item is None else _clone_atom(item)

    def tree_read(self, e: ast.expr) -> ast.expr | None:
        """In an expression that carries no derivative: a container as its literal, an item as its variable;
        None when `e` reads no container."""
        item = self.tree_of_name(e) if isinstance(e, ast.Name) else self.tree_item(e)
        if item is None:
            return None
        return item.literal() if isinstance(item, Tree) else _clone_atom(item)

    def tree_len(self, call: ast.Call) -> ast.Constant | None:
        """`len(c)` of a container: its number of items, a constant."""
        arg = call.args[0] if len(call.args) == 1 and not call.keywords else None
        tree = self.tree_value(arg) if isinstance(arg, (ast.Name, ast.Subscript, ast.Attribute)) else None
        return None if tree is None else ast.Constant(len(tree.items))

    def literal_tree(self, e: ast.expr) -> Tree:
        """A tuple, list or dict literal: each item evaluated (to an atom, or a Tree)."""
        if isinstance(e, ast.Dict):
            keys = []
            for k in e.keys:
                ok, key = constant_key(k) if k is not None else (False, None)
                if not ok:
                    raise self.error(UnsupportedSyntaxError, k or e, "a dict literal whose keys are not constants"
                                     + (" (or with `**`)" if k is None else ""))
                keys.append(key)
            values, kind, keys = e.values, "dict", tuple(keys)
        else:
            values, kind, keys = e.elts, "list" if isinstance(e, ast.List) else "tuple", None
        items = []
        for v in values:
            if isinstance(v, ast.Starred):
                raise self.error(UnsupportedSyntaxError, v, "`*` inside a tuple or list literal")
            sub = self.tree_value(v) if isinstance(v, (ast.Name, ast.Subscript, ast.Attribute, ast.Dict, ast.Tuple,
                                                       ast.List, ast.ListComp)) else None
            if sub is not None:
                self.mark_shared(v, sub)
            items.append(sub if sub is not None else self.atom(v))
        return Tree(kind, keys, items, owner=self)

    def mark_shared(self, e: ast.expr, tree: Tree) -> None:
        """`e` (a name or an item of one) now has a second holder: writes into it are refused."""
        if isinstance(e, (ast.Name, ast.Subscript, ast.Attribute)):
            tree.shared = True

    # --- binding -----------------------------------------------------------------------------------
    def bind_tree(self, name: str, tree: Tree) -> None:
        """`name = <container>`: one variable per leaf, named for its path (`params_W1`); a name bound
        again to the same structure reuses its variables (loops and branches join)."""
        struct = tree.structure()
        key = (name, struct)
        names = self.shared.leaf_names.get(key)
        if names is None:
            names = [self.namer.exact(pytree.leaf_name(name, p)) for p in pytree.paths(struct)]
            self.shared.leaf_names[key] = names
        self.resolver.locals.update(names)
        targets = set(names)
        leaves = tree.leaves()
        values = []
        for n, v in zip(names, leaves):
            # a value that is one of the variables assigned here is read first (pair = pair[1], pair[0])
            if isinstance(v, ast.Name) and v.id in targets and v.id != n:
                v = self.temp(_clone_atom(v))
            values.append(v)
        for n, v in zip(names, values):
            if not (isinstance(v, ast.Name) and v.id == n):
                self.emit(_assign_atom(n, v, self.where))
        it = iter(names)

        def rebuild(t: Tree) -> Tree:
            return Tree(t.kind, t.keys, [rebuild(i) if isinstance(i, Tree) else ast.Name(id=next(it), ctx=ast.Load())
                                         for i in t.items], owner=self if t.owner is self else None,
                        shared=t.shared)
        self.shared.trees[name] = rebuild(tree)
        self.shared.plain.discard(name)

    def bind_target(self, target: ast.expr, value) -> None:
        """Bind an assignment or loop target to `value`: an atom (emitted as a copy) or a Tree."""
        if isinstance(target, ast.Name):
            name = self.local(target.id)
            if isinstance(value, Tree):
                self.bind_tree(name, value)
            else:
                self.shared.trees.pop(name, None)
                self.shared.plain.add(name)
                self.emit(_assign_atom(name, value, self.where))
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            if not isinstance(value, Tree) or value.kind == "dict":
                raise self.error(UnsupportedSyntaxError, target, "unpacking a value that is not a tuple or list "
                                 "of known length")
            if len(value.items) != len(target.elts) or any(isinstance(t, ast.Starred) for t in target.elts):
                raise self.error(UnsupportedSyntaxError, target, f"unpacking {len(value.items)} values into "
                                 f"{len(target.elts)} names")
            for t, v in zip(target.elts, value.items):
                self.bind_target(t, v)
            return
        raise self.error(UnsupportedSyntaxError, target, "this target for the items of a container")

    def write_item(self, target: ast.Subscript, value: ast.expr) -> bool:
        """`c[key] = value` into a container c (True: done; False: c is not a container)."""
        name = self.local(target.value.id)
        tree = self.shared.trees.get(name)
        if tree is None:
            return False
        if tree.owner is not self or tree.shared:
            who = "the caller" if tree.owner is None and not tree.shared else "another name"
            raise self.error(UnsupportedSyntaxError, target, f"writing into {target.value.id}, {tree.describe()} that "
                             f"{who} may also hold: s2sad treats containers as values, so build a new one "
                             "(a literal with the new item) instead of changing this one")
        ok, key = constant_key(target.slice)
        if not ok:
            self.materialize(name)
            return False
        new = self.tree_value(value)
        if new is not None:
            self.mark_shared(value, new)
        item = new if new is not None else self.atom(value)
        i = tree.index(key)
        items = list(tree.items)
        if i is None:
            if tree.kind != "dict":
                raise self.error(UnsupportedSyntaxError, target, f"index {key!r} is out of range for "
                                 f"{tree.describe()} of {len(items)} items")
            updated = Tree("dict", tree.keys + (key,), items + [item], owner=self)
        else:
            items[i] = item
            updated = Tree(tree.kind, tree.keys, items, owner=self)
        self.bind_tree(name, updated)
        return True

    def materialize(self, name: str) -> None:
        """Turn the container bound to `name` into an ordinary value (`name = [name_0, name_1]`), for a use
        the compiler cannot follow statically."""
        tree = self.shared.trees.pop(name)
        self.emit(_assign_atom(name, tree.literal(), self.where))
        self.shared.plain.add(name)

    def materialize_dynamic(self, stmts: list[ast.stmt]) -> None:
        """Before a loop: containers the loop uses dynamically (`.append`, `c[i]`) become ordinary values."""
        users = {u for u in self.resolver.locals if self.local(u) in self.shared.trees}
        for u in sorted(dynamic_uses(stmts, users)):
            self.materialize(self.local(u))

    # --- iteration ---------------------------------------------------------------------------------
    def iteration(self, it: ast.expr, ranges: bool = False) -> list | None:
        """The items a `for` loop or a comprehension visits, when known now (a container or a literal,
        `.items()`, `.keys()`, `.values()`, `enumerate`/`zip` of them; with `ranges`, `range` of
        constants too); None otherwise."""
        if isinstance(it, (ast.Tuple, ast.List)) and it.elts:
            return list(self.literal_tree(it).items)
        if isinstance(it, ast.Call) and not it.keywords:
            func = it.func
            if isinstance(func, ast.Attribute) and func.attr in ("items", "keys", "values") and not it.args:
                base = self.tree_value(func.value) if isinstance(func.value, (ast.Name, ast.Subscript)) else None
                if base is None or base.kind != "dict":
                    return None
                keys = [ast.Constant(k) for k in base.keys]
                if func.attr == "keys":
                    return keys
                if func.attr == "values":
                    return list(base.items)
                return [Tree("tuple", None, [k, v]) for k, v in zip(keys, base.items)]
            if self._is_builtin(func, "enumerate") and len(it.args) == 1:
                inner = self.iteration(it.args[0], ranges)
                return None if inner is None else [Tree("tuple", None, [ast.Constant(i), v]) for i, v in enumerate(inner)]
            if self._is_builtin(func, "zip") and it.args:
                parts = [self.iteration(a, ranges) for a in it.args]
                if any(p is None for p in parts):
                    return None
                return [Tree("tuple", None, list(vs)) for vs in zip(*parts)]
            if ranges and self._is_builtin(func, "range") and 1 <= len(it.args) <= 3:
                bounds = [constant_key(a) for a in it.args]
                if all(ok and type(v) is int for ok, v in bounds) and len(range(*(v for _, v in bounds))) <= 1000:
                    return [ast.Constant(i) for i in range(*(v for _, v in bounds))]
                return None
            return None
        tree = self.tree_value(it) if isinstance(it, (ast.Name, ast.Subscript, ast.Attribute)) else None
        if tree is None:
            return None
        return [ast.Constant(k) for k in tree.keys] if tree.kind == "dict" else list(tree.items)

    def unrolled_for(self, s: ast.For) -> bool:
        """`for v in <container>`: the body once per item (False: not a loop over a container)."""
        items = self.iteration(s.iter)
        if items is None:
            return False
        if any(isinstance(n, (ast.Break, ast.Continue)) for n in ast.walk(ast.Module(body=s.body, type_ignores=[]))) \
                or s.orelse:
            raise self.error(UnsupportedSyntaxError, s, "`break`, `continue` or `else` in a loop over a container "
                             "(s2sad runs it once per item when it transforms the function)")
        for item in items:
            self.where = (self.src.filename, s.lineno)
            self.bind_target(s.target, item)
            for st in s.body:
                self.stmt(st)
        return True

    def comprehension(self, e: ast.expr) -> list:
        """The items of `[elt for v in <container>]` (or a generator expression), each evaluated."""
        gens = e.generators
        if len(gens) != 1 or gens[0].ifs or gens[0].is_async:
            raise self.error(UnsupportedSyntaxError, e, "a comprehension with several `for`s or an `if` "
                             "(s2sad takes `[expr for v in items]`)")
        items = self.iteration(gens[0].iter, ranges=True)
        if items is None:
            raise self.error(UnsupportedSyntaxError, e, "a comprehension over values known only when the code "
                             "runs: s2sad unrolls comprehensions over containers and range(<constants>); "
                             "use an array and NumPy operations instead")
        names = [n.id for n in ast.walk(gens[0].target) if isinstance(n, ast.Name)]
        saved = {n: self.rename.get(n) for n in names}
        out = []
        try:
            for n in names:              # the loop variable is the comprehension's own
                if _bound_outside_comprehensions(self.src.tree, n) or n in self.rename:
                    self.rename[n] = self.namer.exact(n)
                    self.resolver.locals.add(self.rename[n])
            for item in items:
                self.bind_target(gens[0].target, item)
                sub = self.tree_value(e.elt)
                out.append(sub if sub is not None else self.atom(e.elt))
        finally:
            for n, old in saved.items():
                if old is None:
                    self.rename.pop(n, None)
                else:
                    self.rename[n] = old
        return out

    # --- branches and loops join -----------------------------------------------------------------
    def snapshot(self) -> tuple[dict, set]:
        return dict(self.shared.trees), set(self.shared.plain)

    def join(self, before: tuple[dict, set], other: dict, node: ast.AST) -> None:
        """After the two arms of a branch (`other`: the first arm's bindings, self's: the second's): a
        name must hold the same kind of value on both paths."""
        trees, plain = before
        mine = self.shared.trees
        for n in set(other) | set(mine):
            a, b = other.get(n), mine.get(n)
            if same_binding(a, b):
                continue
            if (a is None or b is None) and n not in trees and n not in plain:
                mine[n] = a or b         # bound on one path only, and nowhere before
                continue
            raise self._mixed(n, node)

    def check_loop(self, before: tuple[dict, set], node: ast.AST) -> None:
        """After a loop body: a container bound before the loop keeps its structure through it."""
        trees, plain = before
        mine = self.shared.trees
        for n in set(trees) | set(mine):
            if n in trees and not same_binding(trees[n], mine.get(n)) or n not in trees and n in plain:
                raise self._mixed(n, node)

    def _mixed(self, name: str, node: ast.AST):
        user = self.shared.spelled.get(name, name)
        return self.error(UnsupportedSyntaxError, node, f"{user} holds a container on one path through this "
                          "statement and another value (or another structure) on another: give it the same "
                          "kind of value on every path")


def _bound_outside_comprehensions(fn: ast.FunctionDef, name: str) -> bool:
    """Whether the function binds `name` other than as a comprehension's variable."""
    inside = {id(n) for c in ast.walk(fn) if isinstance(c, ast.comprehension) for n in ast.walk(c.target)}
    args = fn.args
    if name in {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}:
        return True
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) and id(n) not in inside
               for n in ast.walk(fn))


def _constant_tuple(e: ast.expr) -> bool:
    return isinstance(e, ast.Tuple) and all(isinstance(x, ast.Constant) or _constant_tuple(x) for x in e.elts) \
        or isinstance(e, ast.UnaryOp) and isinstance(e.operand, ast.Constant)


def _assign_atom(target: str, value: ast.expr, where) -> ast.Assign:
    value = _clone_atom(value) if isinstance(value, (ast.Name, ast.Constant)) else value
    return set_origin(ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=value, lineno=where[1],
                                 col_offset=0), where)
