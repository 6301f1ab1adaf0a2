"""The live progress view of a run: one bar per candidate (outputs and judgments, done and failed),
plus calls, tokens and cost. Rendered a few times a second from the engine's counters."""

from __future__ import annotations

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from assay.engine.progress import RunProgress


class ProgressView:
    def __init__(self) -> None:
        self.progress: RunProgress | None = None

    def attach(self, progress: RunProgress) -> None:
        self.progress = progress

    def __rich__(self) -> Group | Text:
        p = self.progress
        if p is None:
            return Text("starting…")
        n = len(p.candidates) or 1
        per_out = p.outputs_total // n
        per_judge = p.judgments_total // n
        table = Table.grid(padding=(0, 1))
        for label, c in p.candidates.items():
            finished = c.outputs_done + c.outputs_failed + c.judgments_done + c.judgments_failed
            total = per_out + per_judge
            table.add_row(
                Text(label, style="bold"), ProgressBar(total=max(total, 1), completed=finished, width=30),
                Text(f"outputs {c.outputs_done}/{per_out}"
                     + (f" ({c.outputs_failed} failed)" if c.outputs_failed else "")),
                Text(f"judged {c.judgments_done}/{per_judge}"
                     + (f" ({c.judgments_failed} failed)" if c.judgments_failed else ""),
                     style="red" if c.judgments_failed else ""),
            )
        if p.pairs_total:
            table.add_row(Text("pairwise", style="bold"),
                          ProgressBar(total=p.pairs_total, completed=p.pairs_done + p.pairs_failed, width=30),
                          Text(f"verdicts {p.pairs_done}/{p.pairs_total}"),
                          Text(f"({p.pairs_failed} failed)" if p.pairs_failed else "",
                               style="red" if p.pairs_failed else ""))
        cost = f", cost {p.cost:.4f}" if p.has_cost else ""
        footer = Text(f"calls {p.calls} (cached {p.cached}, retries {p.retries}), tokens "
                      f"{p.input_tokens:,} in / {p.output_tokens:,} out{cost}", style="dim")
        return Group(table, footer)
