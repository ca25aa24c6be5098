"""Dockerfile builds with the classic builder.

Reading a Dockerfile: ``parser`` (lines, directives, heredoc bodies, stages) cuts each
instruction into words with ``words`` and checks it with ``instruction_parsers``, giving
the types of ``dockerfile``; ``substitution`` is Docker's ``$var`` lexer and ``expansion``
applies it to an instruction.

Running it: ``builder`` takes a request (``backend``: its options, and the engine's side)
through the stages. Each step is handed the build as a ``step_run`` and the image so far
as a ``stage_state``, and is ``run_step`` (RUN, with ``run_mounts``), ``copy_step``
(COPY/ADD, with ``copy``, ``copy_from`` and ``remote``) or one of ``instructions`` (the
config-only ones, and the commit every step ends with, remembered in ``step_cache``).
``image_files`` reads the image so far, ``layers`` turns a container's changes into a
layer, ``context`` holds the build context.
"""
