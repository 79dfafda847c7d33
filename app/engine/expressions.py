"""Safe evaluator for the JUEL subset that Camunda Modeler writes into BPMN files.

Uploaded BPMN is untrusted, so nothing here reaches Python's eval/exec, imports or attribute
access: a hand-written tokenizer and Pratt parser build a small AST that a tree walker evaluates.
Values can only be read out of mappings (by key) and lists/tuples (by index), and only the
functions the caller passes in can be called.

Hostile input is bounded at compile time (text length, token count, nesting depth), which also
bounds the evaluator's recursion: the AST is never deeper than ``_MAX_DEPTH`` nodes.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from app.engine.plain import plain
from app.errors import ServiceError

__all__ = [
    "MAX_NUMBER_DIGITS",
    "ExpressionError",
    "Properties",
    "ExpressionSyntaxError",
    "ExpressionEvaluationError",
    "Template",
    "compile_template",
    "contains_expression",
    "evaluate",
    "to_text",
    "truthy_condition",
]

_MAX_SOURCE = 4096
_MAX_TOKENS = 1024
_MAX_DEPTH = 64
_MAX_INT_DIGITS = 30
_MAX_NUMBER_CHARS = 64
# The most digits a whole number may have, in a variable, a decision table or an expression's result:
# well beyond a Long (19), and far below what makes arithmetic slow or a value unexportable.
MAX_NUMBER_DIGITS = 40
_LARGEST = 10 ** MAX_NUMBER_DIGITS
_MAX_SHOWN = 300  # longest expression text quoted verbatim in an error message


class ExpressionError(Exception):
    """Base of every error raised for an expression; the message names the expression text."""

    def __init__(self, message: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.expression = expression


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression; raised by compile_template."""

    def __init__(self, message: str, expression: str, position: int) -> None:
        super().__init__(message, expression)
        self.position = position


class ExpressionEvaluationError(ExpressionError):
    """The expression is valid but could not be evaluated against the given variables."""


class PropertyNotFound(ExpressionEvaluationError):
    """The expression reads a variable that is not set, or a property its object does not have
    (Camunda's PropertyNotFoundException, which a conditional event takes as not holding)."""


def _shown(source: str) -> str:
    return source if len(source) <= _MAX_SHOWN else source[:_MAX_SHOWN] + "…"


def _short_repr(value: Any) -> str:
    # Shown as a designer wrote it in JSON or JUEL, never as Python shows it.
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, float) or math.isfinite(value) \
        else str(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, _dt.datetime):
        return "date-time"
    if isinstance(value, _dt.date):
        return "date"
    if isinstance(value, _dt.time):
        return "time"
    if isinstance(value, _dt.timedelta):
        return "duration"
    if isinstance(value, Mapping):
        return "map"
    return "list" if isinstance(value, list | tuple) else "value"


def _describe(value: Any) -> str:
    return "null" if value is None else f"{_kind(value)} {_short_repr(value)}"


class _EvalFailure(Exception):
    """Internal: raised while walking the AST; Template turns it into ExpressionEvaluationError."""


class _MissingProperty(_EvalFailure):
    """Internal: a property its object does not have."""


class _UnknownIdentifier(_EvalFailure):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


# --------------------------------------------------------------------------------------------
# Value semantics (JUEL coercions, restricted to what BPMN conditions need)
# --------------------------------------------------------------------------------------------

_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _is_number(value: Any) -> bool:
    # bool is an int subclass in Python but never a number in JUEL.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_numeric(text: str) -> int | float | None:
    """A string's numeric value, or None; strict so that '1_000', 'nan' or 'inf' stay strings."""
    text = text.strip()
    if not _NUMERIC_TEXT.fullmatch(text):
        return None
    try:
        if text.lstrip("+-").isdigit():
            return int(text)
        number = float(text)
    except ValueError:  # more digits than int() accepts
        return None
    return number if math.isfinite(number) else None


def _to_number(value: Any) -> int | float:
    if _is_number(value):
        return value
    if value is None or value == "":
        return 0  # EL's coercion of null and "" to a number: `${missingCount + 1}` is 1
    if isinstance(value, str):
        number = _parse_numeric(value)
        if number is not None:
            return number
    raise _EvalFailure(f"cannot coerce {_describe(value)} to a number")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "true":
            return True
        if word in ("false", ""):
            return False
    raise _EvalFailure(f"cannot coerce {_describe(value)} to a boolean")


def to_text(value: Any) -> str:
    """A value as an expression writes it into text (JUEL's coercion to a string)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as JUEL renders booleans
    return str(value)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, set, frozenset, Mapping)):
        return len(value) == 0
    return False


def _equals(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool):
            return left == right
        flag, other = (left, right) if isinstance(left, bool) else (right, left)
        if isinstance(other, str):
            word = other.strip().lower()
            return word == ("true" if flag else "false")
        return False  # unlike Python, true != 1
    if _is_number(left) and _is_number(right):
        return left == right
    if _is_number(left) and isinstance(right, str):
        number = _parse_numeric(right)
        return number is not None and number == left
    if isinstance(left, str) and _is_number(right):
        number = _parse_numeric(left)
        return number is not None and number == right
    return bool(left == right)


def _order_kind(value: Any) -> str | None:
    # datetime is a date subclass, so test it first; mixing the two is refused.
    for kind in (_dt.datetime, _dt.date, _dt.time, _dt.timedelta):
        if isinstance(value, kind):
            return kind.__name__
    return None


_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


def _ordered(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        # EL: null is equal only to null, and ordered against nothing.
        return left is None and right is None and op in ("<=", ">=")
    numbers = _is_number(left) and _is_number(right)
    texts = isinstance(left, str) and isinstance(right, str)
    if not numbers and not texts:
        if (_is_number(left) or _is_number(right)) and (isinstance(left, str) or isinstance(right, str)):
            left, right = _to_number(left), _to_number(right)  # a number and a (numeric) string
        elif _order_kind(left) is None or _order_kind(left) != _order_kind(right):
            raise _EvalFailure(f"cannot compare {_describe(left)} with {_describe(right)} using '{op}'")
    try:
        return _ORDER_OPS[op](left, right)
    except TypeError as error:  # e.g. naive vs aware datetimes
        raise _EvalFailure(f"cannot compare {_describe(left)} with {_describe(right)}: {error}") from None


def _divide(left: Any, right: Any) -> float:
    dividend, divisor = _to_number(left), _to_number(right)
    if divisor == 0:
        raise _EvalFailure("division by zero")
    return dividend / divisor


def _remainder(left: Any, right: Any) -> int | float:
    dividend, divisor = _to_number(left), _to_number(right)
    if divisor == 0:
        raise _EvalFailure("division by zero")
    if isinstance(dividend, int) and isinstance(divisor, int):
        # Java semantics: the sign follows the dividend (-7 % 3 == -1).
        rest = abs(dividend) % abs(divisor)
        return -rest if dividend < 0 else rest
    return math.fmod(dividend, divisor)


def _bounded(value: int | float) -> int | float:
    """An arithmetic result the service can store and show: finite, and no more than MAX_NUMBER_DIGITS
    digits (a loop multiplying a variable would otherwise grow it without end)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _EvalFailure("the result is not a finite number")
    if isinstance(value, int) and not -_LARGEST < value < _LARGEST:
        raise _EvalFailure(f"the result has more than {MAX_NUMBER_DIGITS} digits")
    return value


_BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: _bounded(_to_number(a) + _to_number(b)),
    "-": lambda a, b: _bounded(_to_number(a) - _to_number(b)),
    "*": lambda a, b: _bounded(_to_number(a) * _to_number(b)),
    "/": lambda a, b: _bounded(_divide(a, b)),
    "%": _remainder,
    "==": _equals,
    "!=": lambda a, b: not _equals(a, b),
    "<": functools.partial(_ordered, "<"),
    ">": functools.partial(_ordered, ">"),
    "<=": functools.partial(_ordered, "<="),
    ">=": functools.partial(_ordered, ">="),
}


def _to_index(key: Any) -> int:
    if isinstance(key, str):
        key = _parse_numeric(key)
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    raise _EvalFailure(f"a list index must be an integer, got {_describe(key)}")


class Properties(dict):
    """What an object the engine offers to expressions may be asked (Camunda's `execution`): unlike a
    map's missing key, which is null, a property it does not have is an error, as on a Java bean."""

    def __init__(self, name: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.name = name


def _get_item(base: Any, key: Any) -> Any:
    """`base.key` / `base[key]`: only mapping lookup and list/tuple indexing, never getattr."""
    if isinstance(base, Properties) and key not in base:
        raise _MissingProperty(f"'{base.name}' has no property {_short_repr(key)} here "
                           f"(it has {', '.join(sorted(base))})")
    if isinstance(base, Mapping):
        try:
            return base.get(key)  # a missing key is null, as for JUEL maps
        except TypeError:
            raise _EvalFailure(f"cannot use {_describe(key)} as a map key") from None
    if isinstance(base, (list, tuple)):
        try:
            index = _to_index(key)
        except _EvalFailure:
            raise _EvalFailure(f"cannot read {_describe(key)} of a list; "
                               "only integer indexes are allowed") from None
        return base[index] if 0 <= index < len(base) else None
    raise _MissingProperty(f"cannot read property {_short_repr(key)} of {_describe(base)}: "
                           "only maps and lists have properties")


# --------------------------------------------------------------------------------------------
# AST
# --------------------------------------------------------------------------------------------

class _Context(NamedTuple):
    variables: Mapping[str, Any]
    functions: Mapping[str, Callable[..., Any]]


class _Node:
    __slots__ = ("depth",)
    depth: int

    def evaluate(self, ctx: _Context) -> Any:
        raise NotImplementedError


class _Literal(_Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value, self.depth = value, 1

    def evaluate(self, ctx: _Context) -> Any:
        return self.value


class _Variable(_Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name, self.depth = name, 1

    def evaluate(self, ctx: _Context) -> Any:
        if self.name in ctx.variables:
            return ctx.variables[self.name]
        raise _UnknownIdentifier(self.name)


class _Call(_Node):
    __slots__ = ("name", "args")

    def __init__(self, name: str, args: tuple[_Node, ...]) -> None:
        self.name, self.args = name, args
        self.depth = 1 + max((arg.depth for arg in args), default=0)

    def evaluate(self, ctx: _Context) -> Any:
        # Only the caller's table is consulted: never variables, builtins or attributes.
        if self.name not in ctx.functions:
            raise _EvalFailure(f"unknown function '{self.name}'")
        function = ctx.functions[self.name]
        if not callable(function):
            raise _EvalFailure(f"'{self.name}' is not a function")
        args = [arg.evaluate(ctx) for arg in self.args]
        try:
            return function(*args)
        except ExpressionError:
            raise
        except ServiceError as error:  # a register the function reads refused
            raise _EvalFailure(f"function '{self.name}' failed: {error.message}") from error
        except TypeError as error:  # called with arguments it does not take
            raise _EvalFailure(f"function '{self.name}' does not take these arguments") from error
        except (ValueError, ArithmeticError) as error:  # the functions' word for a bad argument
            raise _EvalFailure(f"function '{self.name}' failed: {plain(str(error), 'a bad argument')}") from error


class _Path(_Node):
    """`base.name` and `base[expr]` steps, kept flat so long paths do not deepen the tree."""
    __slots__ = ("base", "steps")

    def __init__(self, base: _Node, steps: tuple[str | _Node, ...]) -> None:
        self.base, self.steps = base, steps
        self.depth = 1 + max([base.depth] + [s.depth for s in steps if isinstance(s, _Node)])

    def evaluate(self, ctx: _Context) -> Any:
        value = self.base.evaluate(ctx)
        for step in self.steps:
            if value is None:
                return None  # JUEL: a property of null is null
            value = _get_item(value, step if isinstance(step, str) else step.evaluate(ctx))
        return value


class _Unary(_Node):
    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: _Node) -> None:
        self.op, self.operand, self.depth = op, operand, operand.depth + 1

    def evaluate(self, ctx: _Context) -> Any:
        value = self.operand.evaluate(ctx)
        if self.op == "-":
            return -_to_number(value)
        if self.op == "!":
            return not _to_bool(value)
        return _is_empty(value)


class _Chain(_Node):
    """Left-associative operators of one precedence level: `a - b + c`, `a && b && c`.

    Flat so that a 500-term sum is evaluated by a loop rather than 500 nested calls.
    """
    __slots__ = ("level", "first", "rest")

    def __init__(self, level: int, first: _Node, rest: tuple[tuple[str, _Node], ...]) -> None:
        self.level, self.first, self.rest = level, first, rest
        self.depth = 1 + max([first.depth] + [node.depth for _, node in rest])

    def evaluate(self, ctx: _Context) -> Any:
        if self.level in (_OR_BP, _AND_BP):  # short-circuit, always a bool
            decisive = self.level == _OR_BP  # the operand value that settles the result
            for operand in (self.first, *(node for _, node in self.rest)):
                if _to_bool(operand.evaluate(ctx)) is decisive:
                    return decisive
            return not decisive
        value = self.first.evaluate(ctx)
        for op, node in self.rest:
            value = _BINARY_OPS[op](value, node.evaluate(ctx))
        return value


class _Ternary(_Node):
    __slots__ = ("condition", "then", "otherwise")

    def __init__(self, condition: _Node, then: _Node, otherwise: _Node) -> None:
        self.condition, self.then, self.otherwise = condition, then, otherwise
        self.depth = 1 + max(condition.depth, then.depth, otherwise.depth)

    def evaluate(self, ctx: _Context) -> Any:
        branch = self.then if _to_bool(self.condition.evaluate(ctx)) else self.otherwise
        return branch.evaluate(ctx)


# --------------------------------------------------------------------------------------------
# Tokenizer and parser
# --------------------------------------------------------------------------------------------

# Binding powers, JUEL precedence from loosest to tightest.
_TERNARY_BP, _OR_BP, _AND_BP, _EQ_BP, _REL_BP, _ADD_BP, _MUL_BP, _UNARY_BP = range(1, 9)
_BINARY_BP = {
    "||": _OR_BP, "&&": _AND_BP, "==": _EQ_BP, "!=": _EQ_BP,
    "<": _REL_BP, ">": _REL_BP, "<=": _REL_BP, ">=": _REL_BP,
    "+": _ADD_BP, "-": _ADD_BP, "*": _MUL_BP, "/": _MUL_BP, "%": _MUL_BP,
}
_WORD_OPS = {
    "and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">",
    "le": "<=", "ge": ">=", "div": "/", "mod": "%", "empty": "empty",
}
_WORD_LITERALS = {"true": True, "false": False, "null": None}
_RESERVED_WORDS = {"instanceof"}
_TWO_CHAR_OPS = {"==", "!=", "<=", ">=", "&&", "||"}
_ONE_CHAR_OPS = set("<>!+-*/%()[].,?:")
_NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?", re.ASCII)
_EXPRESSION_START = re.compile(r"\\?[$#]\{")  # `\${` and `\#{` are escaped literal text
_EXPRESSION_MARK = re.compile(r"(?<!\\)[$#]\{")


def _is_name_start(char: str) -> bool:
    return char == "$" or char.isidentifier()


def _is_name_part(char: str) -> bool:
    return char == "$" or ("a" + char).isidentifier()


class _Token(NamedTuple):
    kind: str  # "num" | "str" | "lit" | "name" | "op" | "end"
    value: Any
    start: int
    end: int


class _Compiler:
    """Splits a template into literal text and parsed expressions."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.token_count = 0
        self.names: set[str] = set()

    def error(self, position: int, detail: str) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(
            f"Syntax error in expression: {_shown(self.source)}. Cause: {detail} at position {position}",
            self.source, position)

    def compile(self) -> tuple[str | _Node, ...]:
        source = self.source
        if len(source) > _MAX_SOURCE:
            raise self.error(_MAX_SOURCE, f"the text is longer than {_MAX_SOURCE} characters")
        parts: list[str | _Node] = []
        literal: list[str] = []
        position = 0
        while match := _EXPRESSION_START.search(source, position):
            literal.append(source[position:match.start()])
            if match.group().startswith("\\"):
                literal.append(match.group()[1:])
                position = match.end()
                continue
            if text := "".join(literal):
                parts.append(text)
            literal = []
            tokens, position = self.tokenize(match.start(), match.end())
            parts.append(_Parser(self, tokens).parse())
        if text := "".join(literal) + source[position:]:
            parts.append(text)
        return tuple(parts)

    def tokenize(self, opening: int, position: int) -> tuple[list[_Token], int]:
        """Tokens of one `${...}` body, ending with an "end" token for its closing brace."""
        source, length = self.source, len(self.source)
        tokens: list[_Token] = []
        while True:
            while position < length and source[position].isspace():
                position += 1
            if position >= length:
                raise self.error(opening, "missing '}' to close the expression started")
            char = source[position]
            if char == "}":
                tokens.append(_Token("end", None, position, position + 1))
                return tokens, position + 1
            self.token_count += 1
            if self.token_count > _MAX_TOKENS:
                raise self.error(position, f"more than {_MAX_TOKENS} tokens")
            if char in "\"'":
                token = self.string(position)
            elif "0" <= char <= "9" or char == "." and "0" <= source[position + 1:position + 2] <= "9":
                token = self.number(position)
            elif _is_name_start(char):
                token = self.word(position)
            elif source[position:position + 2] in _TWO_CHAR_OPS:
                token = _Token("op", source[position:position + 2], position, position + 2)
            elif char in _ONE_CHAR_OPS:
                token = _Token("op", char, position, position + 1)
            else:
                raise self.error(position, f"unexpected character {char!r}")
            tokens.append(token)
            position = token.end

    def string(self, start: int) -> _Token:
        source, quote = self.source, self.source[start]
        chars: list[str] = []
        position = start + 1
        while position < len(source):
            char = source[position]
            if char == "\\" and source[position + 1:position + 2] in ("\"", "'", "\\"):
                chars.append(source[position + 1])
                position += 2
            elif char == quote:
                return _Token("str", "".join(chars), start, position + 1)
            else:
                chars.append(char)  # any other backslash stays literal text
                position += 1
        raise self.error(start, "unterminated string literal")

    def number(self, start: int) -> _Token:
        match = _NUMBER.match(self.source, start)
        if match is None:
            raise self.error(start, "invalid number")
        text, end = match.group(), match.end()
        if end < len(self.source) and _is_name_part(self.source[end]):
            raise self.error(start, f"invalid number {self.source[start:end + 1]!r}")
        if text.isdigit():
            if len(text) > _MAX_INT_DIGITS:
                raise self.error(start, f"integer literal longer than {_MAX_INT_DIGITS} digits")
            return _Token("num", int(text), start, end)
        value = float(text)
        if len(text) > _MAX_NUMBER_CHARS or not math.isfinite(value):
            raise self.error(start, f"number literal {text[:_MAX_NUMBER_CHARS]!r} is out of range")
        return _Token("num", value, start, end)

    def word(self, start: int) -> _Token:
        source, end = self.source, start + 1
        while end < len(source) and _is_name_part(source[end]):
            end += 1
        word = source[start:end]
        if "__" in word:
            raise self.error(start, f"identifier '{word}' is not allowed: names containing '__' are reserved")
        if word in _RESERVED_WORDS:
            raise self.error(start, f"'{word}' is not supported")
        if word in _WORD_OPS:
            return _Token("op", _WORD_OPS[word], start, end)
        if word in _WORD_LITERALS:
            return _Token("lit", _WORD_LITERALS[word], start, end)
        return _Token("name", word, start, end)


class _Parser:
    """Pratt parser over the tokens of one expression."""

    def __init__(self, compiler: _Compiler, tokens: list[_Token]) -> None:
        self.compiler = compiler
        self.tokens = tokens
        self.index = 0
        self.depth = 0  # active _expression frames; bounds the parser's own recursion

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise self.error(self.peek(), "empty expression")
        node = self.expression(0)
        if self.peek().kind != "end":
            raise self.error(self.peek(), f"unexpected {self.shown(self.peek())}")
        return node

    # -- helpers -------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        if token.kind != "end":
            self.index += 1
        return token

    def is_op(self, token: _Token, op: str) -> bool:
        return token.kind == "op" and token.value == op

    def expect(self, op: str) -> None:
        token = self.advance()
        if not self.is_op(token, op):
            raise self.error(token, f"expected '{op}' but found {self.shown(token)}")

    def shown(self, token: _Token) -> str:
        if token.kind == "end":
            return "end of expression"
        return repr(self.compiler.source[token.start:token.end])

    def error(self, token: _Token, detail: str) -> ExpressionSyntaxError:
        return self.compiler.error(token.start, detail)

    def checked(self, node: _Node, token: _Token) -> _Node:
        if node.depth > _MAX_DEPTH:
            raise self.error(token, f"expression nested deeper than {_MAX_DEPTH} levels")
        return node

    # -- grammar -------------------------------------------------------------------------
    def expression(self, min_bp: int) -> _Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(self.peek(), f"expression nested deeper than {_MAX_DEPTH} levels")
        left = self.prefix()
        while (token := self.peek()).kind == "op":
            if token.value == "?":
                if min_bp >= _TERNARY_BP:
                    break
                self.advance()
                then = self.expression(0)
                self.expect(":")
                otherwise = self.expression(0)  # right-associative: a ? b : c ? d : e
                left = self.checked(_Ternary(left, then, otherwise), token)
                continue
            bp = _BINARY_BP.get(token.value)
            if bp is None or bp <= min_bp:
                break
            self.advance()
            right = self.expression(bp)
            if isinstance(left, _Chain) and left.level == bp:  # all levels are left-associative
                left = _Chain(bp, left.first, left.rest + ((token.value, right),))
            else:
                left = _Chain(bp, left, ((token.value, right),))
            self.checked(left, token)
        self.depth -= 1
        return left

    def prefix(self) -> _Node:
        token = self.advance()
        if token.kind == "op" and token.value in ("-", "!", "empty"):
            return self.checked(_Unary(token.value, self.expression(_UNARY_BP)), token)
        node: _Node
        if self.is_op(token, "("):
            node = self.expression(0)
            self.expect(")")
        elif token.kind in ("num", "str", "lit"):
            node = _Literal(token.value)
        elif token.kind == "name":
            node = self.name(token)
        else:
            raise self.error(token, f"unexpected {self.shown(token)}")
        return self.postfix(node, token)

    def name(self, token: _Token) -> _Node:
        # `ns:fn(` is a namespaced call only when written without spaces around the colon,
        # which keeps `a ? b : c(x)` a ternary.
        colon, local, paren = self.peek(), self.peek(1), self.peek(2)
        if (self.is_op(colon, ":") and colon.start == token.end and local.kind == "name"
                and local.start == colon.end and self.is_op(paren, "(")):
            self.advance()
            self.advance()
            return self.call(f"{token.value}:{local.value}", token)
        if self.is_op(self.peek(), "("):
            return self.call(token.value, token)
        self.compiler.names.add(token.value)
        return _Variable(token.value)

    def call(self, name: str, token: _Token) -> _Node:
        self.expect("(")
        args: list[_Node] = []
        if not self.is_op(self.peek(), ")"):
            args.append(self.expression(0))
            while self.is_op(self.peek(), ","):
                self.advance()
                args.append(self.expression(0))
        self.expect(")")
        return self.checked(_Call(name, tuple(args)), token)

    def postfix(self, node: _Node, token: _Token) -> _Node:
        steps: list[str | _Node] = []
        while (step := self.peek()).kind == "op":
            if step.value == ".":
                self.advance()
                name = self.advance()
                if name.kind != "name":
                    raise self.error(name, f"expected a property name after '.' but found {self.shown(name)}")
                steps.append(name.value)
            elif step.value == "[":
                self.advance()
                steps.append(self.expression(0))
                self.expect("]")
            elif step.value == "(":
                raise self.error(step, "only functions can be called, by name: "
                                       "method calls and calling values are not supported")
            else:
                break
        return self.checked(_Path(node, tuple(steps)), token) if steps else node


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def contains_expression(text: str) -> bool:
    """True when the text has a `${` or `#{` part (not escaped as `\\${`), even an unclosed one."""
    return _EXPRESSION_MARK.search(text) is not None


class Template:
    """A compiled text: literal text with zero or more ${...}/#{...} parts.

    Immutable and shared through the compile_template cache.
    """
    __slots__ = ("source", "_parts", "_single", "_variable_names")

    source: str

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise TypeError(f"expression text must be a str, got {type(source).__name__}")
        compiler = _Compiler(source)
        self.source = source
        self._parts = compiler.compile()
        self._variable_names = frozenset(compiler.names)
        # One expression and only whitespace around it: the value keeps its type.
        nodes = [part for part in self._parts if isinstance(part, _Node)]
        texts = [part for part in self._parts if isinstance(part, str)]
        self._single = nodes[0] if len(nodes) == 1 and all(t.isspace() for t in texts) else None

    @classmethod
    def literal(cls, text: str) -> Template:
        """The text as it is, with no expression in it even where it has `${`."""
        template = cls("")
        template.source, template._parts, template._single = text, (text,), None
        return template

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    @property
    def variable_names(self) -> frozenset[str]:
        """Top-level identifiers the expressions read (not function names, not property names)."""
        return self._variable_names

    def evaluate(self, variables: Mapping[str, Any],
                 functions: Mapping[str, Callable[..., Any]] | None = None) -> Any:
        """The single expression's value, the literal text, or the interpolated string."""
        ctx = _Context(variables, functions if functions is not None else {})
        if self._single is not None:
            return self._run(self._single, ctx, as_text=False)
        return "".join(part if isinstance(part, str) else self._run(part, ctx, as_text=True)
                       for part in self._parts)

    def _run(self, node: _Node, ctx: _Context, as_text: bool) -> Any:
        shown = _shown(self.source)
        try:
            value = node.evaluate(ctx)
            return to_text(value) if as_text else value
        except _UnknownIdentifier as error:
            # Camunda's wording, which integrators already recognise.
            raise PropertyNotFound(
                f"Unknown property used in expression: {shown}. Cause: Cannot resolve identifier '{error.name}'",
                self.source) from None
        except _EvalFailure as error:
            failure = PropertyNotFound if isinstance(error, _MissingProperty) else ExpressionEvaluationError
            raise failure(f"Cannot evaluate expression: {shown}. Cause: {error}", self.source) from error.__cause__
        except ExpressionError:
            raise
        except (ArithmeticError, TypeError, ValueError, RecursionError) as error:
            # Backstop: e.g. float overflow or str() of an int with too many digits.
            raise ExpressionEvaluationError(
                f"Cannot evaluate expression: {shown}. Cause: {_backstop_cause(error)}", self.source) from error


def _backstop_cause(error: Exception) -> str:
    if isinstance(error, OverflowError):
        return "a number is too large"
    if isinstance(error, ZeroDivisionError):
        return "division by zero"
    if isinstance(error, RecursionError):
        return "the expression nests too deeply"
    if isinstance(error, ValueError | ArithmeticError):
        return "a value is out of range"
    return "a value has the wrong kind"


@functools.lru_cache(maxsize=1024)
def _compile_cached(text: str) -> Template:
    return Template(text)


def compile_template(text: str) -> Template:
    """Compile (or fetch from a bounded cache) the template for this text."""
    if not isinstance(text, str):
        raise TypeError(f"expression text must be a str, got {type(text).__name__}")
    return _compile_cached(text)


def evaluate(text: str, variables: Mapping[str, Any],
             functions: Mapping[str, Callable[..., Any]] | None = None) -> Any:
    """compile_template(text).evaluate(variables, functions)."""
    return compile_template(text).evaluate(variables, functions)


def truthy_condition(value: Any, source: str) -> bool:
    """A gateway condition's result as a bool; like Camunda, anything but a boolean is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ExpressionEvaluationError(
        f"Condition expression returns non-Boolean: result has type {_describe(value)}, "
        f"not boolean, in expression: {_shown(source)}", source)
