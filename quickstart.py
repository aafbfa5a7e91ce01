"""`kmb quickstart`: every stage on the bundled sample, offline, in a few minutes.

It runs the same `kmb` commands a user runs (each printed before it runs, so the output doubles as a
tutorial), in separate processes as a user would (Scrapy's reactor also runs once per process):

  1. crawl the bundled NAVER replay site, served on 127.0.0.1;
  2. harvest the bundled journal records from a local OAI-PMH responder;
  3. add the sample textbooks; import the sample term list;
  4. build the corpus, print its stats; count the terms;
  5. make a stand-in for KR-BERT: an untrained tiny BERT over the bundled base vocab in KR-BERT's
     format (KR-BERT itself has no licence to bundle);
  6. build the extended medical vocab over that base;
  7. continue MLM + NSP pretraining of the tiny BERT with the extended vocab;
  8. evaluate the untrained start and the pretrained model: MLM, NSP, NER, STS, and the report.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kmb.errors import KmbError
from kmb.storage import atomic_dir, write_text_atomic
from kmb.workspace import Workspace

PACKAGE = Path(__file__).resolve().parent
SAMPLES = PACKAGE / "samples"

# The replay site's days (see demo/replay_site/README.md).
CRAWL_START, CRAWL_END = "2020-12-28", "2021-01-01"
BASE_VOCAB = SAMPLES / "vocab" / "base_vocab.txt"  # KR-BERT has no licence to bundle
BASE = "base-tiny"  # the untrained start, as KR-BERT is the start of KM-BERT
TRAINED = "km-tiny"
MARKER = ".kmb-quickstart"
# Tiny models need a far larger learning rate than BERT-base's 2e-5..5e-5 to learn anything in minutes.
TINY_GRID = "1e-3:6"


@dataclass
class Step:
    title: str
    args: list[str]
    seconds: float = 0.0
    output_tail: list[str] = field(default_factory=list)


DEFAULT_EPOCHS = 40.0  # a tiny model needs many passes over the sample's pairs
DEFAULT_SEED = 42


def run_quickstart(
    workspace: Path, *, pretrain_epochs: float = DEFAULT_EPOCHS, seed: int = DEFAULT_SEED, echo=print
) -> dict:
    """Run every stage on the bundled sample into ``workspace``; returns a summary of what it made."""
    if not pretrain_epochs > 0:
        raise KmbError(f"--epochs must be more than 0, not {pretrain_epochs}")
    if seed < 0:
        raise KmbError(f"--seed must be 0 or more, not {seed}")
    ws = Workspace.open(_fresh_workspace(Path(workspace)))
    write_text_atomic(ws.root / MARKER, "made by kmb quickstart; a later quickstart may delete this workspace\n")
    run = QuickstartRun(ws, echo)
    started = time.perf_counter()
    collect(run)
    build_corpus(run, seed)
    pretrain(run, pretrain_epochs, seed)
    evaluate(run, seed)
    ws.refresh_views()
    return {
        "workspace": str(ws.root),
        "steps": len(run.steps),
        "minutes": f"{(time.perf_counter() - started) / 60:.1f}",
        "report": str(ws.root / "eval" / "report.md"),
        "report text": _read_text(ws.root / "eval" / "report.md"),
        "models": f"{ws.model(BASE)} (untrained start), {ws.model(TRAINED)} (pretrained)",
    }


class QuickstartRun:
    """Runs `kmb` commands in child processes, printing each command line and its output."""

    def __init__(self, ws: Workspace, echo):
        self.ws = ws
        self.echo = echo
        self.steps: list[Step] = []

    def kmb(self, title: str, *args: str) -> Step:
        args = (*args, "--workspace", str(self.ws.root))
        step = Step(title, [*args])
        n = len(self.steps) + 1
        self.echo(f"\n[{n}] {title}\n$ kmb {' '.join(shlex.quote(a) for a in args)}")
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "kmb", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for raw in proc.stdout:
            # Progress bars redraw with "\r": show only the last state of each line.
            line = raw.decode("utf-8", "replace").rstrip("\r\n").rsplit("\r", 1)[-1]
            if line.strip():
                self.echo("    " + line)
                step.output_tail = (step.output_tail + [line])[-20:]
        code = proc.wait()
        step.seconds = time.perf_counter() - t0
        self.steps.append(step)
        if code != 0:
            raise KmbError(f"quickstart step {n} ({title}) failed with exit code {code}")
        self.echo(f"    ({step.seconds:.0f} s)")
        return step


def collect(run: QuickstartRun) -> None:
    """Steps 1-3: crawl the local NAVER replay site and OAI-PMH responder, add textbooks and terms."""
    from kmb.demo.oai_server import serve_oai
    from kmb.demo.replay_server import ReplayServer

    with ReplayServer() as naver, serve_oai() as (oai_url, _responder):
        run.kmb(
            "Crawl the NAVER replay site (our own pages, served on 127.0.0.1)",
            "crawl",
            "naver-health",
            "--base-url",
            naver.url,
            "--start",
            CRAWL_START,
            "--end",
            CRAWL_END,
            "--delay",
            "0",
        )
        run.kmb(
            "Harvest journal abstracts from a local OAI-PMH responder",
            "crawl",
            "kci",
            "--endpoint",
            f"{oai_url}/oai",
            "--years",
            "all",
            "--delay",
            "0",
        )
    run.kmb("Add the sample textbooks", "corpus", "add", str(SAMPLES / "textbooks"), "--source", "textbook")
    run.kmb(
        "Import the sample medical term list",
        "terms",
        "import",
        str(SAMPLES / "terms" / "medical_terms.tsv"),
        "--source",
        "custom",
    )


def build_corpus(run: QuickstartRun, seed: int) -> None:
    """Step 4: the sentence corpus, its statistics, the term counts."""
    run.kmb(
        "Build the sentence corpus (normalise, clean, split with kss, filter, dedup, 90/10 split)",
        "corpus",
        "build",
        "--seed",
        str(seed),
    )
    run.kmb("Corpus statistics", "corpus", "stats")
    run.kmb("Count the medical terms in the train split", "terms", "count")


def pretrain(run: QuickstartRun, pretrain_epochs: float, seed: int) -> None:
    """Steps 5-7: the stand-in for KR-BERT, the extended vocab, continued pretraining."""
    ws = run.ws
    run.echo(
        f"\n[{len(run.steps) + 1}] Make the stand-in for KR-BERT: an untrained tiny BERT over the sample base vocab"
    )
    base_vocab = make_base_tokenizer(ws.vocab("base"))
    make_untrained_model(base_vocab, ws.model(BASE), seed=seed)
    run.echo(f"    base vocab {base_vocab} ({BASE_VOCAB.name}); untrained model {ws.model(BASE)}")
    run.steps.append(Step("base model", []))

    run.kmb(
        "Build the extended medical vocab over the base vocab (the paper's procedure)",
        "vocab",
        "build",
        "--base-vocab",
        str(base_vocab),
        "--min-count",
        "3",
        "--extra",
        str(SAMPLES / "vocab" / "extra_terms.txt"),
        "--out",
        str(ws.vocab("kmb")),
    )
    run.kmb(
        "Continue MLM + NSP pretraining with the extended vocab",
        "pretrain",
        "--base-model",
        str(ws.model(BASE)),
        "--tokenizer",
        str(ws.vocab("kmb")),
        "--output",
        TRAINED,
        "--epochs",
        str(pretrain_epochs),
        "--lr",
        "1e-3",
        "--warmup",
        "0.05",
        "--batch-size",
        "32",
        "--recipe",
        "modern",
        "--seed",
        str(seed),
    )


def evaluate(run: QuickstartRun, seed: int) -> None:
    """Step 8: the untrained start against the pretrained model on MLM, NSP, NER, STS; the report."""
    ws = run.ws
    models = ["--model", str(ws.model(BASE)), "--model", str(ws.model(TRAINED))]
    pairs = ws.eval("pairs") / "valid_pairs.tsv"
    run.kmb(
        "Draw evaluation sentence pairs from the validation split",
        "evaluate",
        "make-pairs",
        "--out",
        str(pairs),
        "--seed",
        str(seed),
    )
    run.kmb(
        "Intrinsic: masked-token accuracy (the paper's Fig. 3)",
        "evaluate",
        "mlm",
        *models,
        "--data",
        str(pairs),
        "--repeats",
        "10",
        "--seed",
        str(seed),
    )
    run.kmb(
        "Intrinsic: next-sentence prediction (the paper's Table 2)",
        "evaluate",
        "nsp",
        *models,
        "--data",
        str(pairs),
        "--seed",
        str(seed),
    )
    run.kmb(
        "Extrinsic: medical NER, KM-BERT's format (the paper's Table 5)",
        "evaluate",
        "ner",
        *models,
        "--data",
        str(SAMPLES / "ner" / "medical_ner_sample.txt"),
        "--format",
        "kmbert",
        "--folds",
        "2",
        "--grid",
        TINY_GRID,
        "--batch-size",
        "8",
        "--seed",
        str(seed),
    )
    run.kmb(
        "Extrinsic: sentence similarity (the paper's Table 3)",
        "evaluate",
        "sts",
        *models,
        "--train",
        str(SAMPLES / "sts" / "medical_sts_train.tsv"),
        "--test",
        str(SAMPLES / "sts" / "medical_sts_test.tsv"),
        "--format",
        "korsts",
        "--grid",
        TINY_GRID,
        "--batch-size",
        "8",
        "--no-six-class",
        "--seed",
        str(seed),
    )
    run.kmb("Gather every result into eval/report.md", "evaluate", "report")


def make_base_tokenizer(out: Path) -> Path:
    """The sample's stand-in for KR-BERT's vocab (samples/vocab/base_vocab.txt) as a tokenizer directory."""
    from kmb.vocab.bidirectional import read_vocab_file
    from kmb.vocab.tokenizers import save_tokenizer_dir

    with atomic_dir(out) as tmp:
        save_tokenizer_dir(read_vocab_file(BASE_VOCAB), tmp)
    return out


def make_untrained_model(tokenizer_dir: Path, out: Path, seed: int = 42) -> Path:
    """A randomly initialised tiny BertForPreTraining with the base vocab: the untrained start."""
    import torch
    from transformers import BertConfig, BertForPreTraining

    from kmb.training.model import MODEL_CONFIGS
    from kmb.vocab.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_dir)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **MODEL_CONFIGS["tiny"])
    model = BertForPreTraining(config)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out


def _fresh_workspace(root: Path) -> Path:
    """The quickstart starts from nothing, so a rerun gives the same result. It deletes only a
    workspace that an earlier quickstart made (it holds MARKER), never a user's own work."""
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise KmbError(
                "the workspace is not empty and was not made by the quickstart; give a new directory", path=root
            )
        _clear(root)
    return root


def _clear(path: Path) -> None:
    import shutil

    if path.exists():
        shutil.rmtree(path)


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""
