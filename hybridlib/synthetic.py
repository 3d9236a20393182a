"""A synthetic multilingual QA world: the offline stand-in for SQuAD + translate-train and XQuAD-R.

Built from first principles, deterministic by seed, and not tuned to favour any batching strategy.

- **Facts.** Every entity has a value for every relation (``entity, relation -> value``). A paragraph states
  five facts about one entity, one sentence each; four of them are asked about (one question each), the
  fifth is a distractor sentence that answers nothing, as in XQuAD-R.
- **Languages.** Each language has its own lexicon (a surface word for every concept: entities, relations,
  values, function words, fillers), its own word order and its own script. Some pairs share part of their
  vocabulary (``de`` takes 50 % of its words from ``en``, ``es`` 25 %); ``ru`` (Cyrillic-like), ``zh`` (CJK
  characters) and ``el`` (Greek-like) share none, so cross-lingual alignment has to be learned. ``en`` is the
  source language of the en-only baseline. ``el`` is never used for training (the unseen language).
- **Parallel groups.** A question and its answer sentence, rendered in every language, form one parallel
  group (``pair_id``); translations of the same question are never each other's negatives.
- **Splits.** Paragraphs are split between training and evaluation, so no evaluation fact, question or
  sentence occurs in training; the vocabulary (like a real language's) is shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridlib.records import Candidate, Query, RetrievalTask, passage_input

# (consonants, vowels) per script; CJK words are 1-2 characters from a fixed block.
_SCRIPTS = {
    "latin": ("bcdfghjklmnprstvwz", "aeiou"),
    "cyrillic": ("бвгджзклмнпрстфхцчш", "аеиоуыэюя"),
    "greek": ("βγδζθκλμνξπρστφχψ", "αεηιουω"),
}
_CJK_BLOCK = [chr(c) for c in range(0x4E00, 0x4E00 + 400)]

# Language profiles: script, the language it borrows words from, the share borrowed, and word orders.
# Slots: E entity, R relation, V value, and function words THE OF IS WHAT DE.
_LANGUAGES = {
    "en": ("latin", None, 0.0, "THE R OF E IS V", "WHAT IS THE R OF E"),
    "de": ("latin", "en", 0.5, "THE R OF E IS V", "WHAT IS THE R OF E"),
    "es": ("latin", "en", 0.25, "THE R OF E IS V", "WHAT IS THE R OF E"),
    "ru": ("cyrillic", None, 0.0, "R E IS V", "WHAT R E"),
    "zh": ("cjk", None, 0.0, "E DE R IS V", "E DE R IS WHAT"),
    "el": ("greek", None, 0.0, "THE R OF THE E IS V", "WHAT IS THE R OF THE E"),
}
_FUNCTION_WORDS = ("THE", "OF", "IS", "WHAT", "DE")


@dataclass(frozen=True)
class WorldSpec:
    """Size and seed of a synthetic world. Defaults: 2,240 training groups, 160 evaluation questions per language."""

    languages: tuple[str, ...] = ("en", "de", "es", "ru", "zh", "el")
    n_entities: int = 200
    n_relations: int = 16
    n_values: int = 120
    n_fillers: int = 40
    eval_paragraphs: int = 40
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.languages) - set(_LANGUAGES))
        if unknown:
            raise ValueError(f"unknown synthetic languages {unknown}; choose from {list(_LANGUAGES)}")
        if "en" not in self.languages:
            raise ValueError("the synthetic world needs 'en' (the en-only baseline's language)")
        if self.n_relations < 5:
            raise ValueError(f"n_relations must be >= 5 (five facts per paragraph), got {self.n_relations}")


@dataclass(frozen=True)
class Paragraph:
    id: str
    entity: int
    facts: tuple[tuple[int, int], ...]  # (relation, filler) per sentence; the first four are asked about
    n_questions: int


class World:
    """Lexicons, facts and paragraphs of one synthetic world; `render_*` produce text in any language."""

    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        rng = np.random.default_rng([spec.seed, 7])
        self.concepts = (
            [f"E{i}" for i in range(spec.n_entities)]
            + [f"R{i}" for i in range(spec.n_relations)]
            + [f"V{i}" for i in range(spec.n_values)]
            + [f"F{i}" for i in range(spec.n_fillers)]
            + list(_FUNCTION_WORDS)
        )
        self.lexicons: dict[str, dict[str, str]] = {}
        for lang in spec.languages:  # "en" first is not needed: borrowing reads the lender's lexicon lazily
            self._make_lexicon(lang, rng)
        self.value_of = rng.integers(0, spec.n_values, size=(spec.n_entities, spec.n_relations))
        self.paragraphs = self._make_paragraphs(rng)
        eval_ids = set(rng.choice(len(self.paragraphs), size=spec.eval_paragraphs, replace=False).tolist())
        self.eval_paragraphs = [p for i, p in enumerate(self.paragraphs) if i in eval_ids]
        self.train_paragraphs = [p for i, p in enumerate(self.paragraphs) if i not in eval_ids]

    def _make_lexicon(self, lang: str, rng: np.random.Generator) -> dict[str, str]:
        if lang in self.lexicons:
            return self.lexicons[lang]
        script, lender, share, _, _ = _LANGUAGES[lang]
        lent = self._make_lexicon(lender, rng) if lender else {}
        lexicon: dict[str, str] = {}
        used: set[str] = set()
        for concept in self.concepts:
            if lender and rng.random() < share and lent[concept] not in used:
                word = lent[concept]
            else:
                word = _new_word(script, rng, used)
            lexicon[concept] = word
            used.add(word)
        self.lexicons[lang] = lexicon
        return lexicon

    def _make_paragraphs(self, rng: np.random.Generator) -> list[Paragraph]:
        spec = self.spec
        paragraphs = []
        for e in range(spec.n_entities):
            relations = rng.permutation(spec.n_relations)
            for k in range(spec.n_relations // 5):
                rels = relations[5 * k : 5 * k + 5]
                fillers = rng.integers(0, spec.n_fillers, size=5)
                facts = tuple((int(r), int(f)) for r, f in zip(rels, fillers))
                paragraphs.append(Paragraph(id=f"p{e}-{k}", entity=e, facts=facts, n_questions=4))
        return paragraphs

    def _render(self, template: str, lang: str, entity: int, relation: int, filler: int | None) -> str:
        lex = self.lexicons[lang]
        slots = {"E": f"E{entity}", "R": f"R{relation}", "V": f"V{self.value_of[entity, relation]}"}
        words = [lex[slots.get(tok, tok)] for tok in template.split()]
        if filler is not None:
            words.append(lex[f"F{filler}"])
        return " ".join(words)

    def sentence(self, lang: str, paragraph: Paragraph, k: int) -> str:
        """The `k`-th sentence (fact) of `paragraph` in `lang`.

        Args:
            lang: a language of the world.
            paragraph: the paragraph (its entity and facts).
            k: the fact's index in the paragraph.
        """
        relation, filler = paragraph.facts[k]
        return self._render(_LANGUAGES[lang][3], lang, paragraph.entity, relation, filler)

    def question(self, lang: str, paragraph: Paragraph, k: int) -> str:
        """The question whose answer is `sentence(lang, paragraph, k)`; arguments as there.

        Args:
            lang: a language of the world.
            paragraph: the paragraph (its entity and facts).
            k: the fact's index in the paragraph.
        """
        relation, _ = paragraph.facts[k]
        return self._render(_LANGUAGES[lang][4], lang, paragraph.entity, relation, None)

    def context(self, lang: str, paragraph: Paragraph) -> str:
        return " . ".join(self.sentence(lang, paragraph, k) for k in range(len(paragraph.facts))) + " ."

    def shared_vocabulary(self, a: str, b: str) -> float:
        """Fraction of concepts whose surface word is the same in languages `a` and `b`."""
        la, lb = self.lexicons[a], self.lexicons[b]
        return float(np.mean([la[c] == lb[c] for c in self.concepts]))


def _new_word(script: str, rng: np.random.Generator, used: set[str]) -> str:
    while True:
        if script == "cjk":
            word = "".join(rng.choice(_CJK_BLOCK, size=int(rng.integers(1, 3))))
        else:
            consonants, vowels = _SCRIPTS[script]
            n_syllables = int(rng.integers(2, 4))
            word = "".join(rng.choice(list(consonants)) + rng.choice(list(vowels)) for _ in range(n_syllables))
        if word not in used:
            return word


def group_id(paragraph: Paragraph, k: int) -> str:
    return f"{paragraph.id}-q{k}"


def training_rows(world: World, languages: tuple[str, ...]) -> list[dict[str, str]]:
    """One row per (parallel group, language) of the training paragraphs, in the `records.TRAIN_COLUMNS` schema.

    The hard negative is the paragraph's distractor sentence (the fifth), with the same context.
    """
    rows = []
    for p in world.train_paragraphs:
        for lang in languages:
            context = world.context(lang, p)
            negative = passage_input(world.sentence(lang, p, len(p.facts) - 1), context)
            for k in range(p.n_questions):
                rows.append(
                    {
                        "pair_id": group_id(p, k),
                        "lang": lang,
                        "query": world.question(lang, p, k),
                        "passage": passage_input(world.sentence(lang, p, k), context),
                        "negative": negative,
                        "source": "synthetic",
                    }
                )
    return rows


def evaluation_task(world: World, languages: tuple[str, ...]) -> RetrievalTask:
    """The XQuAD-R-like evaluation split: every sentence of an evaluation paragraph is a candidate."""
    queries, candidates = [], []
    for lang in languages:
        for p in world.eval_paragraphs:
            context = world.context(lang, p)
            for k in range(len(p.facts)):
                keys = (group_id(p, k),) if k < p.n_questions else ()
                candidates.append(
                    Candidate(id=f"{lang}-{p.id}-s{k}", lang=lang, text=world.sentence(lang, p, k), context=context, keys=keys)
                )
            for k in range(p.n_questions):
                queries.append(Query(id=f"{lang}-{group_id(p, k)}", lang=lang, text=world.question(lang, p, k), key=group_id(p, k)))
    return RetrievalTask(name="synthetic", queries=queries, candidates=candidates)


def pretraining_corpus(world: World) -> list[str]:
    """Text the smoke tokenizer is trained on: the training paragraphs and questions in every language.

    Includes the unseen language, as mBERT's and XLM-R's vocabularies cover languages never fine-tuned on.
    """
    lines = []
    for lang in world.spec.languages:
        for p in world.train_paragraphs:
            lines.append(world.context(lang, p))
            lines.extend(world.question(lang, p, k) for k in range(p.n_questions))
    return lines
