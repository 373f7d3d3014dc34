"""Reject regular expressions that can make Python's ``re`` backtrack for ever.

Python's ``re`` is a backtracking engine: ``(a+)+$`` takes exponential time on
``"aaaa…a!"`` and ``(.*a){20}`` polynomial time of degree 20. :func:`check_regex` finds
both statically, from the pattern's parse tree (``re._parser``), before any text is seen:

* The tree becomes a position automaton (Glushkov), keeping *how many* ways each
  transition arises — ``(a+)+`` reaches ``a`` from ``a`` through the inner and the
  outer loop, which is exactly what the backtracker tries twice. Characters are sets
  over a small alphabet (all of ASCII, the pattern's own characters and a few Unicode
  samples), computed by asking ``re`` itself, so flags and classes mean what they mean.
* **Exponential** backtracking exists when some loop state can return to itself along
  two different paths reading the same text: in the product of the automaton with
  itself, a strongly connected component holds a diagonal pair ``(p, p)`` and either an
  off-diagonal pair or a doubled edge (``(a|aa)*``, ``(a+)+``, ``(\\w+\\s?)*``).
* **Polynomial** backtracking of degree ``d`` exists when ``d`` loops follow each other
  and can all consume the same characters (``.*a.*a.*a``, ``(.*a){20}``); degrees of 3
  and more are rejected.

Possessive repeats (``a*+``) and atomic groups (``(?>…)``) never give characters back,
so they are treated as single opaque steps, and are the usual fix. Lookarounds are
checked as patterns of their own. Backreferences are treated as empty (so a blow-up that
needs them is not seen).

>>> check_regex(r"\\b(free|win)\\b")
>>> check_regex(r"(a+)+$")
Traceback (most recent call last):
...
dawn.errors.RegexError: regex '(a+)+$' can backtrack exponentially ...
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict

from dawn.errors import RegexError

try:  # Python 3.11+
    from re import _constants as C
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

__all__ = ["ALPHABET", "check_regex", "leaf_members", "leaf_source", "parse"]

MAX_DEGREE = 3          # polynomial backtracking of this degree or more is rejected
_COPIES = 32            # counted repeats up to this many copies are expanded exactly
_MAX_POSITIONS = 4000   # beyond this, counted repeats are approximated by loops

_SAMPLES = "éßİıſ\u212aﬁΣσς١\u00a0\u2003€😀中\u0345\u03b9"
LEAF_OPS = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.CATEGORY)

_CATEGORY_SRC = {
    C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s", C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W",
}


def parse(pattern: str, flags: int = 0):
    """The ``re._parser`` tree of ``pattern`` and its global flags (inline ones included)."""
    tree = sre_parse.parse(pattern, flags)
    return tree, tree.state.flags


def _char(c: int, pretty: bool = False) -> str:
    if pretty and 32 < c < 127:
        return re.escape(chr(c))
    return f"\\U{c:08x}"


def leaf_source(op, av, pretty: bool = False) -> str:
    """A one-character leaf of the parse tree as Python pattern text."""
    if op is C.LITERAL:
        return _char(av, pretty)
    if op is C.NOT_LITERAL:
        return f"[^{_char(av, pretty)}]"
    if pretty and op is C.IN and len(av) == 1 and av[0][0] is C.CATEGORY:
        return _CATEGORY_SRC[av[0][1]]
    if op is C.ANY:
        return "."
    if op is C.CATEGORY:
        return _CATEGORY_SRC[av]
    parts = []
    for iop, iav in av:
        if iop is C.NEGATE:
            parts.insert(0, "^")
        elif iop is C.LITERAL:
            parts.append(_char(iav, pretty))
        elif iop is C.RANGE:
            parts.append(f"{_char(iav[0], pretty)}-{_char(iav[1], pretty)}")
        elif iop is C.CATEGORY:
            parts.append(_CATEGORY_SRC[iav])
        else:  # pragma: no cover - not produced by the parser for str patterns
            raise RegexError(f"unsupported character-class item {iop}")
    return "[" + "".join(parts) + "]" if parts else "[^\\x00-\\U0010ffff]"


_CHAR_FLAGS = re.IGNORECASE | re.ASCII | re.DOTALL


@functools.lru_cache(maxsize=4096)
def _members(source: str, flags: int, alphabet: str) -> int:
    rx = re.compile(source, flags & _CHAR_FLAGS)
    bits = 0
    for i, ch in enumerate(alphabet):
        if rx.fullmatch(ch):
            bits |= 1 << i
    return bits


def leaf_members(op, av, flags: int, alphabet: str) -> int:
    """Bitmask of the characters of ``alphabet`` that the leaf matches under ``flags``."""
    return _members(leaf_source(op, av), flags, alphabet)


ALPHABET = "".join(chr(c) for c in range(128)) + _SAMPLES


def _pattern_chars(items, out: set[str]) -> None:
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL):
            out.add(chr(av))
        elif op is C.IN:
            for iop, iav in av:
                if iop is C.LITERAL:
                    out.add(chr(iav))
                elif iop is C.RANGE:
                    out.update((chr(iav[0]), chr(iav[1])))
        elif op in (C.SUBPATTERN, C.ATOMIC_GROUP):
            _pattern_chars((av[-1] if op is C.SUBPATTERN else av).data, out)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            _pattern_chars(av[2].data, out)
        elif op is C.BRANCH:
            for alt in av[1]:
                _pattern_chars(alt.data, out)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            _pattern_chars(av[1].data, out)
        elif op is C.GROUPREF_EXISTS:
            for sub in av[1:]:
                if sub is not None:
                    _pattern_chars(sub.data, out)


# -- the position automaton --------------------------------------------------------------
class _Automaton:
    def __init__(self, alphabet: str) -> None:
        self.alphabet = alphabet
        self.sets: list[int] = []
        self.where: list[str] = []       # the source of the repeat each position sits in
        self.follow: dict[tuple[int, int], int] = defaultdict(int)
        self.units: list[tuple[object, int]] = []  # lookarounds, checked on their own
        self.approximate = False

    def leaf(self, op, av, flags, where):
        self.sets.append(leaf_members(op, av, flags, self.alphabet))
        self.where.append(where or _render([(op, av)]))
        p = len(self.sets) - 1
        return {p: 1}, {p: 1}, 0

    def link(self, last, first):
        for p, a in last.items():
            for q, b in first.items():
                self.follow[p, q] += a * b

    def seq(self, items, flags, where):
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        null = 1
        for op, av in items:
            f, lst, n = self.node(op, av, flags, where)
            self.link(last, f)
            if null:
                first = _add(first, f, null)
            last = _add(lst, last, n) if n else lst
            null = min(null * n, 2)
        return first, last, null

    def node(self, op, av, flags, where):
        if op in LEAF_OPS:
            return self.leaf(op, av, flags, where)
        if op is C.SUBPATTERN:
            _group, add, remove, sub = av
            return self.seq(sub.data, (flags | add) & ~remove, where)
        if op is C.BRANCH:
            first: dict[int, int] = {}
            last: dict[int, int] = {}
            null = 0
            for alt in av[1]:
                f, lst, n = self.seq(alt.data, flags, where)
                first, last, null = _add(first, f, 1), _add(last, lst, 1), min(null + n, 2)
            return first, last, null
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            return self.repeat(av, flags, where or _render([(op, av)]))
        if op in (C.POSSESSIVE_REPEAT, C.ATOMIC_GROUP):
            return self.opaque(op, av, flags, where or _render([(op, av)]))
        if op in (C.ASSERT, C.ASSERT_NOT):
            self.units.append((av[1], flags))
            return {}, {}, 1
        if op is C.GROUPREF_EXISTS:
            alts = [s for s in av[1:] if s is not None]
            if len(alts) == 1:  # no "else" part: it may match nothing
                alts.append(sre_parse.SubPattern(alts[0].state))
            branch = (None, alts)
            return self.node(C.BRANCH, branch, flags, where)
        return {}, {}, 1  # anchors, \b, backreferences: consume nothing here

    def repeat(self, av, flags, where):
        lo, hi, sub = av
        unbounded = hi == C.MAXREPEAT or hi > _COPIES or lo > _COPIES \
            or len(self.sets) > _MAX_POSITIONS
        if unbounded and hi != C.MAXREPEAT:
            self.approximate = True
        if unbounded:
            lo = min(lo, 2)
        pieces = []
        for _ in range(max(lo - 1, 0) if unbounded else lo):
            pieces.append(self.seq(sub.data, flags, where))
        if unbounded:
            f, lst, n = self.seq(sub.data, flags, where)
            self.link(lst, f)  # the loop
            pieces.append((f, lst, n if lo >= 1 else 1))
        else:
            tail = None  # (E (E (E)?)?)? for the optional copies
            for _ in range(hi - lo):
                f, lst, _n = self.seq(sub.data, flags, where)
                if tail is not None:
                    self.link(lst, tail[0])
                    lst = _add(lst, tail[1], 1)
                tail = (f, lst, 1)
            if tail is not None:
                pieces.append(tail)
        return self._chain(pieces)

    def _chain(self, pieces):
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        null = 1
        for f, lst, n in pieces:
            self.link(last, f)
            if null:
                first = _add(first, f, null)
            last = _add(lst, last, n) if n else lst
            null = min(null * n, 2)
        return first, last, null

    def opaque(self, op, av, flags, where):
        inner = _Automaton(self.alphabet)
        sub = av if op is C.ATOMIC_GROUP else sre_parse.SubPattern(
            av[2].state, [(C.MAX_REPEAT, av)])
        _f, _l, null = inner.seq(sub.data, flags, where)
        self.units.extend(inner.units)
        bits = 0
        for s in inner.sets:
            bits |= s
        self.sets.append(bits)
        self.where.append(where)
        p = len(self.sets) - 1
        return {p: 1}, {p: 1}, min(null, 1)


def _add(a: dict[int, int], b: dict[int, int], times: int) -> dict[int, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = min(out.get(k, 0) + v * times, 2)
    return out


def _render(items) -> str:
    out = []
    for op, av in items:
        if op in LEAF_OPS:
            out.append(leaf_source(op, av, pretty=True))
        elif op is C.SUBPATTERN:
            out.append("(" + _render(av[-1].data) + ")")
        elif op is C.BRANCH:
            out.append("(" + "|".join(_render(a.data) for a in av[1]) + ")")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            body = _render(sub.data)
            if len(sub.data) > 1:
                body = "(" + body + ")"
            q = {(0, C.MAXREPEAT): "*", (1, C.MAXREPEAT): "+", (0, 1): "?"}.get(
                (lo, hi), f"{{{lo}}}" if lo == hi else
                f"{{{lo},{'' if hi == C.MAXREPEAT else hi}}}")
            out.append(body + q + ("+" if op is C.POSSESSIVE_REPEAT else ""))
        else:
            out.append("…")
    return "".join(out)


# -- graph helpers ---------------------------------------------------------------------
def _sccs(nodes, succ) -> list[list]:
    """Strongly connected components (iterative Tarjan)."""
    index: dict = {}
    low: dict = {}
    on: set = set()
    stack: list = []
    out: list[list] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(succ(w))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def _exponential(auto: _Automaton) -> int | None:
    """A position where two different paths loop back reading the same text, if any."""
    succ: dict[int, list[int]] = defaultdict(list)
    for (p, q), _n in auto.follow.items():
        succ[p].append(q)
    positions = range(len(auto.sets))
    for comp in _sccs(positions, lambda p: succ[p]):
        members = set(comp)
        if len(comp) == 1 and auto.follow.get((comp[0], comp[0]), 0) == 0:
            continue
        def pair_succ(pq, members=members, sets=auto.sets):
            p, q = pq
            for p2 in succ[p]:
                if p2 not in members:
                    continue
                for q2 in succ[q]:
                    if q2 in members and sets[p2] & sets[q2]:
                        yield (p2, q2)

        nodes = [(p, p) for p in comp]
        for scc in _sccs(nodes, pair_succ):
            inside = set(scc)
            diag = [p for p, q in scc if p == q]
            if not diag:
                continue
            if any(p != q for p, q in scc):
                return diag[0]
            for p, _ in scc:  # a doubled edge inside the component
                for p2 in succ[p]:
                    if (p2, p2) in inside and auto.follow[p, p2] >= 2:
                        return p
    return None


def _degree(auto: _Automaton) -> tuple[int, list[int]]:
    """Longest chain of loops that can consume the same characters one after another."""
    succ: dict[int, list[int]] = defaultdict(list)
    for (p, q) in auto.follow:
        succ[p].append(q)
    comps = _sccs(range(len(auto.sets)), lambda p: succ[p])
    loops = [c for c in comps if len(c) > 1 or auto.follow.get((c[0], c[0]), 0)]
    if len(loops) < 2:
        return len(loops), [loops[0][0]] if loops else []
    bits = []
    for c in loops:
        b = 0
        for p in c:
            b |= auto.sets[p]
        bits.append(b)
    n = len(loops)
    chain: list[list[int]] = [[] for _ in range(n)]
    for a in range(n):
        for b in range(n):
            common = bits[a] & bits[b]
            if a == b or not common:
                continue
            seen = set(loops[a])
            todo = list(loops[a])
            target = set(loops[b])
            found = False
            while todo and not found:
                p = todo.pop()
                for q in succ[p]:
                    if q in seen or not auto.sets[q] & common:
                        continue
                    if q in target:
                        found = True
                        break
                    seen.add(q)
                    todo.append(q)
            if found:
                chain[a].append(b)
    # loops come out of Tarjan in reverse topological order; chains follow the DAG
    best = [1] * n
    nxt: list[int | None] = [None] * n
    for a in range(n):
        for b in chain[a]:
            if best[b] + 1 > best[a]:
                best[a], nxt[a] = best[b] + 1, b
    start = max(range(n), key=lambda i: best[i])
    path, i = [], start
    while i is not None:
        path.append(loops[i][0])
        i = nxt[i]
    return best[start], path


def check_regex(pattern: str, flags: int = 0) -> None:
    """Raise :class:`~dawn.errors.RegexError` if ``pattern`` can backtrack catastrophically.

    The pattern must already compile with ``re``.
    """
    tree, flags = parse(pattern, flags)
    chars: set[str] = set()
    _pattern_chars(tree.data, chars)
    alphabet = ALPHABET + "".join(sorted(c for c in chars if c not in ALPHABET))
    units = [(tree, flags)]
    while units:
        sub, f = units.pop()
        auto = _Automaton(alphabet)
        auto.seq(sub.data, f, None)
        units.extend(auto.units)
        p = _exponential(auto)
        if p is not None:
            part = auto.where[p]
            raise RegexError(
                f"regex {pattern!r} can backtrack exponentially (it could hang on a long "
                f"text): in {part!r} a repeat sits inside another repeat (or alternatives "
                "overlap), so the same text can be split between them in many ways. Make the "
                "inner repeat possessive (a++ / a*+) or atomic ((?>...)), or remove the nested "
                f"quantifier (e.g. write (a+)+ as a+).")
        degree, path = _degree(auto)
        if degree >= MAX_DEGREE:
            parts = sorted({auto.where[q] for q in path})
            raise RegexError(
                f"regex {pattern!r} can backtrack polynomially (degree {degree}): the repeats "
                f"in {', '.join(repr(x) for x in parts)} follow each other and can match the "
                "same characters, so a long text can be split between them in very many ways. "
                "Use a negated class ([^x]*x instead of .*x), possessive repeats (a*+) or "
                "atomic groups ((?>...)), or fewer repeated wildcards.")
