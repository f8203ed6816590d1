"""Every text a page or `ui/` hands to a Streamlit call that renders markdown is a constant or
passes through `escape_markdown` (an AST walk, so a new call cannot forget it).

Streamlit renders markdown in message bodies, headers, captions, widget labels and help texts,
`st.table` cells: an uploaded cell, a `?filter=` value or a file name would show a link or fetch
an image. `st.text`, `st.code` and `st.dataframe` show text as text and are not checked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "bsab_explorer" / "ui").glob("*.py")]
)

#: Streamlit calls whose first argument (body or label) and `help` render markdown.
MARKDOWN_CALLS = frozenset(
    {
        "markdown", "caption", "write", "error", "warning", "info", "success", "exception",
        "title", "header", "subheader", "toast", "spinner", "metric", "html",
        "button", "download_button", "link_button", "page_link", "form_submit_button",
        "selectbox", "multiselect", "segmented_control", "pills", "radio", "toggle",
        "checkbox", "text_input", "text_area", "number_input", "slider", "select_slider",
        "date_input", "time_input", "file_uploader", "color_picker", "popover", "expander",
    }
)  # fmt: skip
#: Receivers that are loggers, not Streamlit (`LOG.info`, `LOG.exception`).
NOT_STREAMLIT = frozenset({"LOG", "log", "logger", "logging"})
#: Calls that make a text safe: the boundary itself, and `len` (a number).
SAFE_CALLS = frozenset({"escape_markdown", "len"})
#: Module constants (`RECONSTRUCTED_NOTICE`, `_BASE_CSS`): written in the code, never data.
CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
#: Functions allowed a non-constant markdown text, and why.
ALLOWED = {
    # The Reproduce popover: every command sits in a fenced code block (`fenced`: the fence is
    # longer than any run of backticks in it, so nothing inside is markdown); its labels go
    # through escape_markdown; its file names (export_name: letters, digits and `=.+_-` only)
    # sit in code spans; the note holds the data's hex fingerprint only.
    ("bsab_explorer/ui/downloads.py", "_reproduce"),
}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _safe(node: ast.expr | None, names: frozenset[str] = frozenset()) -> bool:
    """Whether `node` is a constant text, or made only of constants and escaped parts (`names`:
    variables only ever assigned such a text)."""
    if node is None or isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in names or bool(CONSTANT_NAME.match(node.id))
    if isinstance(node, ast.Call):
        return _name(node.func) in SAFE_CALLS
    if isinstance(node, ast.JoinedStr):
        return all(
            isinstance(part, ast.Constant) or _safe(part.value, names)  # type: ignore[attr-defined]
            for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _safe(node.left, names) and _safe(node.right, names)
    if isinstance(node, ast.IfExp):
        return _safe(node.body, names) and _safe(node.orelse, names)
    return False


def _safe_names(tree: ast.AST) -> frozenset[str]:
    """Variables of `tree` whose every assignment is a safe text (e.g. `shown = f"**{n}**"`)."""
    values: dict[str, list[ast.expr]] = {}
    unsafe: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.For | ast.comprehension | ast.AugAssign | ast.AnnAssign):
            unsafe.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.arg):
            unsafe.add(node.arg)
    # Only names assigned safe texts from constants: a name built from another name is not.
    return frozenset(
        name for name, assigned in values.items()
        if name not in unsafe and all(_safe(value) for value in assigned)
    )  # fmt: skip


def _shown_texts(call: ast.Call, method: str) -> list[ast.expr]:
    """The arguments of a markdown-rendering call that Streamlit renders as markdown."""
    shown = list(call.args if method == "write" else call.args[:1])
    shown += [k.value for k in call.keywords if k.arg in ("body", "label", "help")]
    return shown


def unescaped_calls(source: str, path: str = "<snippet>") -> list[str]:
    """Each markdown-rendering call in `source` with a text that is neither constant nor escaped."""
    tree = ast.parse(source)
    names = _safe_names(tree)
    found: list[str] = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.Lambda)]
    enclosing: dict[int, str] = {}
    for function in functions:
        name = function.name if isinstance(function, ast.FunctionDef) else "<lambda>"
        for inner in ast.walk(function):
            # ast.walk meets outer functions first: the innermost one is written last.
            enclosing[id(inner)] = name
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        if method not in MARKDOWN_CALLS or _name(node.func.value) in NOT_STREAMLIT:
            continue
        if (path, enclosing.get(id(node), "")) in ALLOWED:
            continue
        if not all(_safe(text, names) for text in _shown_texts(node, method)):
            found.append(f"{path}:{node.lineno} {ast.unparse(node)[:120]}")
        for keyword in node.keywords:
            if keyword.arg == "unsafe_allow_html" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"{path}:{node.lineno} unsafe_allow_html")
    return found


def _tables_unescaped(source: str) -> list[int]:
    """Lines where `st.table` gets a frame that is not `escape_frame(...)` or `escape_table(...)`
    (cells are markdown)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "table"
        and ast.unparse(node.func.value) in ("st", "st.sidebar")
        and not (
            node.args
            and isinstance(node.args[0], ast.Call)
            and _name(node.args[0].func) in ("escape_frame", "escape_table")
        )
    ]


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_markdown_texts_are_constant_or_escaped(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    source = path.read_text(encoding="utf-8")
    assert unescaped_calls(source, relative) == []
    assert _tables_unescaped(source) == []


def test_the_allow_list_names_functions_that_exist() -> None:
    for relative, function in ALLOWED:
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert function in names, (relative, function)


@pytest.mark.parametrize(
    ("snippet", "flagged"),
    [
        ('st.markdown(f"**{label}:** {value}")', True),
        ("st.sidebar.error(f'Filter not applied: {error}')", True),
        ("left.selectbox(label, options)", True),
        ('st.caption("x", help=text)', True),
        ("st.title(title)", True),
        ('st.markdown(text, unsafe_allow_html=True)', True),
        ('st.markdown("a" + value)', True),
        ('shown = f"**{n}**"\nst.markdown(shown)', True),
        ('shown = f"**{escape_markdown(n)}**"\nst.markdown(shown)', False),
        ('st.markdown(f"**{escape_markdown(label)}:** {escape_markdown(value)}")', False),
        ("st.sidebar.error(f'Filter not applied: {escape_markdown(error)}')", False),
        ('st.error(f"{len(problems)} problem(s)")', False),
        ('st.warning(f"**{RECONSTRUCTED_NOTICE}** {escape_markdown(label)}")', False),
        ("st.toggle(escape_markdown(label), help=None if help is None else escape_markdown(help))",
         False),
        ("st.text(value)", False),
        ("st.dataframe(frame)", False),
        ("LOG.info(message)", False),
    ],
)  # fmt: skip
def test_the_check_tells_escaped_from_unescaped(snippet: str, flagged: bool) -> None:
    assert bool(unescaped_calls(snippet)) is flagged


def test_the_check_finds_an_unescaped_table() -> None:
    assert _tables_unescaped("st.table(median_table(summary))") == [1]
    assert _tables_unescaped("st.table(escape_frame(median_table(summary)))") == []
    assert _tables_unescaped("st.table(escape_table(median_table(summary)))") == []
