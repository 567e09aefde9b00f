"""The story stage: from what the teacher said to what each picture shows.

The parts, in the order a story goes through them:
  sentences.py     timed sentences from Whisper's timed words, streamed as each becomes final
  narration.py     a recording decoded, transcribed and cut into sentences (the CLI, the bench)
  drafts.py        a new story saved with its narration, and a frame for each sentence
  bible.py         who appears and how they look, and where: what every picture shares
  scene_writer.py  the LLM scene writer (one request per story; the offline path without it)
  scenes.py        a story's saved scenes and bible: written by the writer, edited by the teacher
  prompts.py       a scene, the bible and a style made into an image prompt within its budget
  revisions.py     two teachers at once: a save changes only what its teacher changed, and
                   words another teacher saved meanwhile are shown to choose from, never lost
"""
