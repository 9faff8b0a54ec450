"""The ``push-to-hub`` flow: a built corpus -> a Hub dataset repo (or, dry run, the folder it would be).

Its parameters are :class:`pipeline.requests.PushRequest`'s fields plus ``token_secret`` (the name of a Prefect
Secret block, loaded inside the task: the token itself is never a parameter).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact

from pipeline.publish import PublishError, export_hub_folder, push_corpus
from pipeline.requests import PushRequest

P = PushRequest  # defaults are read from the request (written once, there)


def run_push(request: PushRequest, token: str | None = None) -> dict[str, Any]:
    """Push (or, ``dry_run``, export) as ``request`` says; the library function behind the CLI and the flow."""
    if request.dry_run:
        folder = export_hub_folder(request.corpus, request.dry_run, splits=request.splits, license=request.license,
                                   pretty_name=request.name, repo_id=request.repo_id)
        return {"dry_run": str(folder.path), "files": list(folder.files), "rows": folder.num_rows}
    result = push_corpus(request.corpus, request.repo_id, private=request.private, token=token,
                         endpoint=request.endpoint, splits=request.splits, license=request.license,
                         pretty_name=request.name)
    return {"repo_id": result.repo_id, "commit": result.commit_oid, "commit_url": result.commit_url,
            "new_commit": result.new_commit, "files": list(result.files)}


def _retry_transient(task, task_run, state) -> bool:
    """Retry Hub 5xx/429 and connection failures only (a push is idempotent and one commit)."""
    try:
        state.result()
    except PublishError as err:
        return err.transient
    except Exception:
        return False
    return False


@task(name="push-corpus", retries=2, retry_delay_seconds=15, retry_condition_fn=_retry_transient)
def push_task(request: PushRequest, token_secret: str | None) -> dict[str, Any]:
    token = None
    if token_secret:
        from prefect.blocks.system import Secret

        token = Secret.load(token_secret).get()
    return run_push(request, token=token)


@flow(name="push-to-hub")
def push_to_hub(
    corpus: str,
    repo_id: str,
    private: bool = P.private,
    dry_run: str | None = P.dry_run,
    splits: list[str] | None = P.splits,
    license: str | None = P.license,
    name: str | None = P.name,
    endpoint: str | None = P.endpoint,
    token_secret: str | None = None,
) -> dict[str, Any]:
    """Publish ``corpus`` to the dataset repo ``repo_id`` in one commit; ``dry_run``: write that repo to a folder.

    The token comes from the Prefect Secret block ``token_secret``, else from ``HF_TOKEN`` / ``hf auth login``.
    """
    request = PushRequest(corpus=corpus, repo_id=repo_id, private=private, dry_run=dry_run, splits=splits,
                          license=license, name=name, endpoint=endpoint)
    logger = get_run_logger()
    if dry_run:
        result = run_push(request)
        create_table_artifact(table=[{"split": s, "rows": n} for s, n in result["rows"].items()],
                              key="push-to-hub-dry-run", description=f"dry run: {repo_id} written to {dry_run}")
        logger.info("dry run: wrote %d files to %s", len(result["files"]), result["dry_run"])
        return result
    result = push_task(request, token_secret)
    from huggingface_hub import constants

    create_link_artifact(link=f"{endpoint or constants.ENDPOINT}/datasets/{repo_id}", link_text=repo_id,
                         key="push-to-hub",
                         description=f"commit {result['commit']}" + ("" if result["new_commit"] else " (unchanged)"))
    logger.info("%s at %s (%s)", repo_id, result["commit"], "new commit" if result["new_commit"] else "unchanged")
    return result
