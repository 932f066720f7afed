// Named, versioned JSON documents assigned to groups: deployment profiles and policies share
// this shape (table + assignment table), so they share the code.
import { randomUUID } from 'node:crypto';

import type { z } from 'zod';

import { ServiceError, notFound } from '../errors.js';
import { jsonList, now, prepared, type Db, type Prepared } from './database.js';
import type { Group } from './groups.js';

export interface StoredDocument<T> {
  id: string;
  name: string;
  body: T;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Assignment {
  group: string;
  groupId: string;
  assignedAt: string;
}

/** A document reaching a group, in assignment order. */
export interface GroupAssignment<T> {
  document: StoredDocument<T>;
  group: string;
  assignedAt: string;
  assignmentId: string;
}

export type DocumentTables =
  | { table: 'profiles'; assignments: 'profile_assignments' }
  | { table: 'policies'; assignments: 'policy_assignments' }
  | { table: 'certificate_items'; assignments: 'certificate_item_assignments' }
  | { table: 'network_items'; assignments: 'network_item_assignments' }
  | { table: 'app_items'; assignments: 'app_item_assignments' }
  | { table: 'script_items'; assignments: 'script_item_assignments' };

/** A document with one of its assignments. */
interface AssignedRow {
  id: string;
  name: string;
  body: string;
  version: number;
  created_at: string;
  updated_at: string;
  group: string;
  assignedAt: string;
  assignmentId: string;
}
const assignedQueries = new Map<DocumentTables['table'], Prepared<{ groups: string }, AssignedRow>>();

/**
 * The documents of a table assigned to a list of groups (a JSON array of their ids), with their
 * assignments, oldest first (ties by id): one statement, built once per table.
 */
function assignedTo(tables: DocumentTables): Prepared<{ groups: string }, AssignedRow> {
  let query = assignedQueries.get(tables.table);
  if (!query) {
    // Every document table has the profiles' columns, and every assignment table the profile assignments'.
    const { table, assignments: a } = tables as { table: 'profiles'; assignments: 'profile_assignments' };
    query = prepared((db, $: { groups: string }) =>
      db
        .selectFrom(a)
        .innerJoin('device_groups', 'device_groups.id', `${a}.group_id`)
        .innerJoin(table, `${table}.id`, `${a}.subject_id`)
        .select([
          `${table}.id`,
          `${table}.name`,
          `${table}.body`,
          `${table}.version`,
          `${table}.created_at`,
          `${table}.updated_at`,
          'device_groups.name as group',
          `${a}.created_at as assignedAt`,
          `${a}.id as assignmentId`,
        ])
        .where(`${a}.group_id`, 'in', jsonList(db, $.groups))
        .orderBy(`${a}.created_at`)
        .orderBy(`${a}.id`),
    );
    assignedQueries.set(tables.table, query);
  }
  return query;
}

export class DocumentRepository<S extends z.ZodType> {
  constructor(
    private readonly db: Db,
    private readonly tables: DocumentTables,
    private readonly schema: S,
    /** "profile" or "policy", for messages. */
    private readonly noun: string,
  ) {}

  private parse(row: { id: string; name: string; body: string; version: number; created_at: string; updated_at: string }): StoredDocument<z.output<S>> {
    return {
      id: row.id,
      name: row.name,
      body: this.schema.parse(JSON.parse(row.body)),
      version: Number(row.version),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async find(name: string): Promise<StoredDocument<z.output<S>> | undefined> {
    const row = await this.db.selectFrom(this.tables.table).selectAll().where('name', '=', name).executeTakeFirst();
    return row && this.parse(row);
  }

  async require(name: string): Promise<StoredDocument<z.output<S>>> {
    const found = await this.find(name);
    if (!found) throw notFound(`${this.noun} "${name}"`);
    return found;
  }

  async list(): Promise<StoredDocument<z.output<S>>[]> {
    const rows = await this.db.selectFrom(this.tables.table).selectAll().orderBy('name').execute();
    return rows.map((row) => this.parse(row));
  }

  /**
   * Creates or replaces the document's body; returns it and whether it was created. A changed
   * body gets the next version (devices apply each version once); saving the same body keeps it.
   */
  async put(name: string, body: z.output<S>): Promise<{ document: StoredDocument<z.output<S>>; created: boolean }> {
    const at = now();
    const existing = await this.find(name);
    const text = JSON.stringify(body);
    if (existing) {
      if (JSON.stringify(existing.body) === text) return { document: existing, created: false };
      const version = existing.version + 1;
      await this.db.updateTable(this.tables.table).set({ body: text, version, updated_at: at }).where('id', '=', existing.id).execute();
      return { document: { ...existing, body, version, updatedAt: at }, created: false };
    }
    const row = { id: randomUUID(), name, body: text, version: 1, created_at: at, updated_at: at };
    await this.db.insertInto(this.tables.table).values(row).execute();
    return { document: this.parse(row), created: true };
  }

  async delete(name: string): Promise<void> {
    const document = await this.require(name);
    const assignments = await this.assignments(document.id);
    if (assignments.length > 0) {
      throw new ServiceError('IN_USE', `${this.noun} "${name}" is assigned to ${assignments.map((a) => a.group).join(', ')}; unassign it first`);
    }
    await this.db.deleteFrom(this.tables.table).where('id', '=', document.id).execute();
  }

  async assignments(documentId: string): Promise<Assignment[]> {
    const rows = await this.db
      .selectFrom(this.tables.assignments)
      .innerJoin('device_groups', 'device_groups.id', `${this.tables.assignments}.group_id`)
      .select(['device_groups.name as group', 'device_groups.id as groupId', `${this.tables.assignments}.created_at as assignedAt`])
      .where(`${this.tables.assignments}.subject_id`, '=', documentId)
      .orderBy(`${this.tables.assignments}.created_at`)
      .execute();
    return rows;
  }

  /** Assigns to a group; assigning again keeps the original assignment (and its age). */
  async assign(document: StoredDocument<unknown>, group: Group): Promise<string> {
    const existing = await this.db
      .selectFrom(this.tables.assignments)
      .select('created_at')
      .where('subject_id', '=', document.id)
      .where('group_id', '=', group.id)
      .executeTakeFirst();
    if (existing) return existing.created_at;
    const at = now();
    await this.db.insertInto(this.tables.assignments).values({ id: randomUUID(), subject_id: document.id, group_id: group.id, created_at: at }).execute();
    return at;
  }

  async unassign(document: StoredDocument<unknown>, group: Group): Promise<boolean> {
    const result = await this.db
      .deleteFrom(this.tables.assignments)
      .where('subject_id', '=', document.id)
      .where('group_id', '=', group.id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Every document assigned to any of the groups, oldest assignment first (ties by id). */
  async forGroups(groups: readonly Group[]): Promise<GroupAssignment<z.output<S>>[]> {
    if (groups.length === 0) return [];
    const { rows } = await assignedTo(this.tables).run(this.db, { groups: JSON.stringify(groups.map((g) => g.id)) });
    const documents = new Map<string, StoredDocument<z.output<S>>>();
    return rows.map((row) => {
      let document = documents.get(row.id);
      if (!document) {
        document = this.parse(row);
        documents.set(row.id, document);
      }
      return { document, group: row.group, assignedAt: row.assignedAt, assignmentId: row.assignmentId };
    });
  }
}
