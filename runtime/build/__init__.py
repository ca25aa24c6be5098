"""Dockerfile builds with the classic builder.

Reading a Dockerfile: ``parser`` (lines, directives, heredoc bodies, stages) cuts each
instruction into words with ``words`` and checks it with ``instruction_parsers``, giving
the types of ``dockerfile``; ``substitution`` is Docker's ``$var`` lexer and ``expansion``
applies it to an instruction.

Running it: ``builder`` takes a build request through the stages; each step starts from
a ``stage_state`` and is ``instructions`` (config only, and the commit and step cache
every step ends with), ``copy_step`` (COPY/ADD, with ``copy``, ``copy_from`` and
``remote``) or ``run_step`` (RUN, with ``run_mounts``); ``image_files`` reads the image
so far, ``layers`` turns a container's changes into a layer, ``context`` holds the
build context.
"""
