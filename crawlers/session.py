"""One crawl's hold on the workspace, and how a spider reaches the pipeline that stores it.

The source's item pipeline is the one owner of the workspace, the doc_ids already stored and the
crawl state (``crawl/<source>/``): it opens the workspace once, when the crawler builds it
(:func:`workspace_of`, the one read of the ``KMB_WORKSPACE`` setting), and reads what is stored
when the spider opens. A spider never opens the workspace: it asks the pipeline
(:func:`crawl_store`, through the crawler's signals, Scrapy's own way for components to talk) whether
an id is stored, which days are left, where a harvest resumes.
"""

from __future__ import annotations

from kmb.workspace import Workspace

# Sent by a spider (crawl_store); the crawl's pipeline answers with itself (answer_store_requests).
store_requested = object()


def workspace_of(settings) -> Workspace:
    """The crawl's workspace: ``KMB_WORKSPACE`` is an open :class:`Workspace` (``kmb crawl`` passes the
    one it locked) or a path (``scrapy crawl -a workspace=DIR``; None: $KMB_WORKSPACE or ./kmb-workspace)."""
    value = settings.get("KMB_WORKSPACE")
    return value if isinstance(value, Workspace) else Workspace.open(value)


def answer_store_requests(crawler, store) -> None:
    """Make ``store`` (a pipeline) the answer to this crawler's :func:`crawl_store`."""
    crawler.signals.connect(lambda **_: store, signal=store_requested, weak=False)


def crawl_store(crawler):
    """The item pipeline that stores this crawl; exactly one must answer."""
    answers = [answer for _, answer in crawler.signals.send_catch_log(store_requested)]
    for answer in answers:
        if hasattr(answer, "raiseException"):  # a Failure: the pipeline could not answer
            answer.raiseException()
    if len(answers) != 1:
        raise RuntimeError(f"{len(answers)} kmb item pipelines answered for this crawl, not one")
    return answers[0]
