"""The lexing pre-pass of :mod:`tools.shell`: comments, here-documents and substitutions out, then words.

:class:`Scanner` strips comments, takes out here-document bodies and substitutions (``$(...)``, backticks,
``<(...)``/``>(...)``, nested at any depth, also inside an unquoted here-document) and leaves a placeholder
word (:data:`PLACEHOLDER`) in their place; :func:`tokens` then splits the rest with :mod:`shlex`. Pure.
"""

from __future__ import annotations

import re
import shlex

from tools.shellwords import MARK

PUNCT = set(";&|<>()\n")
OPERATORS = sorted([";;&", ";;", ";&", "&&", "||", "|&", "&>>", "&>", ">>", ">|", ">&", "<<<", "<<-", "<<", "<>", "<&",
                    ";", "&", "|", ">", "<", "(", ")", "\n"], key=len, reverse=True)
HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|(\\?)([^\s;&|<>()'\"`]+))")
PLACEHOLDER = re.compile(f"{MARK}([SH])(\\d+){MARK}")


class Scanner:
    """Takes comments, here-document bodies and substitutions out of a command line; the walker keeps the tables."""

    def __init__(self, text: str, subs: list[tuple[str, str]], heredocs: list[tuple[str, bool]]):
        self.t, self.i, self.subs, self.heredocs = text.replace("\\\n", ""), 0, subs, heredocs
        self.pending: list[tuple[int, str, bool]] = []

    def _sub(self, kind: str, body: str) -> str:
        self.subs.append((kind, body))
        return f"{MARK}S{len(self.subs) - 1}{MARK}"

    def run(self, stop: str | None = None, heredoc: bool = False) -> str:
        out: list[str] = []
        t, depth, quote = self.t, 0, None
        while self.i < len(t):
            c = t[self.i]
            if quote == "'":
                out.append(c)
                self.i += 1
                quote = None if c == "'" else quote
                continue
            if c == "\\" and self.i + 1 < len(t):
                out.append(t[self.i:self.i + 2])
                self.i += 2
                continue
            if t.startswith("$(", self.i) or (quote is None and not heredoc and c in "<>" and
                                              t.startswith("(", self.i + 1)):
                kind = "proc" if c in "<>" else "cmd"
                self.i += 2
                body = self.run(")")
                out.append(self._sub("arith" if body.startswith("(") and body.endswith(")") else kind, body))
                continue
            if c == "`":
                self.i += 1
                if stop == "`":
                    return "".join(out)
                out.append(self._sub("cmd", self.run("`")))
                continue
            if quote == '"' or heredoc:
                out.append(c)
                self.i += 1
                quote = None if c == '"' and quote == '"' else quote
                continue
            if c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                if stop == ")" and depth == 0:
                    self.i += 1
                    return "".join(out)
                depth = max(0, depth - 1)
            elif c == "#" and (self.i == 0 or t[self.i - 1] in " \t\n;&|()"):
                end = t.find("\n", self.i)
                self.i = len(t) if end < 0 else end
                continue
            elif c == "<" and t.startswith("<<", self.i) and not t.startswith("<<<", self.i):
                m = HEREDOC.match(t, self.i)
                if m:
                    quoted = m.group(2) is not None or m.group(3) is not None or bool(m.group(4))
                    delim = next(g for g in (m.group(2), m.group(3), m.group(5)) if g is not None)
                    self.heredocs.append(("", quoted))
                    self.pending.append((len(self.heredocs) - 1, delim, m.group(1) == "-"))
                    out.append(f"<< {MARK}H{len(self.heredocs) - 1}{MARK}")
                    self.i = m.end()
                    continue
            elif c == "\n" and self.pending:
                out.append("\n")
                self.i += 1
                self._bodies()
                continue
            out.append(c)
            self.i += 1
        return "".join(out)

    def _bodies(self) -> None:
        """Read the bodies of the here-documents opened on the line that just ended."""
        for k, delim, strip_tabs in self.pending:
            lines = []
            while self.i < len(self.t):
                end = self.t.find("\n", self.i)
                line = self.t[self.i:len(self.t) if end < 0 else end]
                self.i = len(self.t) if end < 0 else end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delim:
                    break
                lines.append(line)
            body, quoted = "\n".join(lines), self.heredocs[k][1]
            if not quoted:  # expanded: its substitutions run
                inner = Scanner(body, self.subs, self.heredocs)
                body = inner.run(heredoc=True)
            self.heredocs[k] = (body, quoted)
        self.pending = []


def tokens(command: str) -> list[str]:
    """Shell words and operators of a scanned command (``shlex``, punctuation-aware)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()\n")
    lexer.whitespace, lexer.whitespace_split, lexer.commenters = " \t\r", True, ""
    out: list[str] = []
    for token in lexer:
        if token and set(token) <= PUNCT:  # a run of punctuation: split it into operators, longest first
            while token:
                op = next(o for o in OPERATORS if token.startswith(o))
                out.append(op)
                token = token[len(op):]
        else:
            out.append(token)
    return out
