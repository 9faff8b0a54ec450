"""The ``push-to-hub`` flow: a built corpus -> a Hub dataset repo (or, dry run, the folder it would be)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact

from pipeline.publish import PublishError, export_hub_folder, push_corpus


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
def push_task(corpus: str, repo_id: str, private: bool, splits: list[str] | None, license: str | None,
              token: str | None) -> dict[str, Any]:
    result = push_corpus(corpus, repo_id, private=private, token=token, splits=splits, license=license)
    return {"repo_id": result.repo_id, "commit": result.commit_oid, "commit_url": result.commit_url,
            "new_commit": result.new_commit, "files": list(result.files)}


@flow(name="push-to-hub")
def push_to_hub(
    corpus: str,
    repo_id: str,
    private: bool = False,
    dry_run: str | None = None,
    splits: list[str] | None = None,
    license: str | None = None,
    token_secret: str | None = None,
) -> dict[str, Any]:
    """Publish ``corpus`` to the dataset repo ``repo_id`` in one commit; ``dry_run``: write that repo to a folder.

    The token comes from the Prefect Secret block ``token_secret``, else from ``HF_TOKEN`` / ``hf auth login``.
    """
    logger = get_run_logger()
    if dry_run:
        folder = export_hub_folder(corpus, dry_run, splits=splits, license=license, repo_id=repo_id)
        create_table_artifact(table=[{"split": s, "rows": n} for s, n in folder.num_rows.items()],
                              key="push-to-hub-dry-run", description=f"dry run: {repo_id} written to {folder.path}")
        logger.info("dry run: wrote %d files to %s", len(folder.files), folder.path)
        return {"dry_run": str(folder.path), "files": list(folder.files), "rows": folder.num_rows}
    token = None
    if token_secret:
        from prefect.blocks.system import Secret

        token = Secret.load(token_secret).get()
    result = push_task(corpus, repo_id, private, splits, license, token)
    from huggingface_hub import constants

    create_link_artifact(link=f"{constants.ENDPOINT}/datasets/{repo_id}", link_text=repo_id, key="push-to-hub",
                         description=f"commit {result['commit']}" + ("" if result["new_commit"] else " (unchanged)"))
    logger.info("%s at %s (%s)", repo_id, result["commit"], "new commit" if result["new_commit"] else "unchanged")
    return result
